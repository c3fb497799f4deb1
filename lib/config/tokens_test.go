package config

import "testing"

func TestSubstitute(t *testing.T) {
	e := expander{home: "/home/u", lookup: func(k string) (string, bool) {
		if k == "JAVA_HOME" {
			return "/opt/jdk", true
		}
		return "", false
	}}
	vals := map[string]any{
		KeyHeronHome:                   "/usr/local/heron",
		"heron.directory.bin":          "${HERON_HOME}/bin",
		KeyCluster:                     "local",
		KeyRole:                        "u",
		KeyTopologyName:                "WordCount",
		KeySubmitUser:                  "u",
		"heron.config.dry_run":         false,
		"heron.resources.instance.cpu": 1.5,
		KeyDownloaderReg:               map[string]any{"file": "x"},
	}
	for _, tc := range []struct{ in, want string }{
		{"${HOME}/.herondata/${CLUSTER}/${ROLE}/${TOPOLOGY}", "/home/u/.herondata/local/u/WordCount"},
		{"~/x", "/home/u/x"},
		{"${TOPOLOGY_NAME}", "WordCount"},
		{"${USER}", "u"},
		{"heron-${CLUSTER}/x", "heron-${CLUSTER}/x"}, // partial component: never
		{"$JAVA_HOME/bin", "$JAVA_HOME/bin"},         // no braces: never
		{"${JAVA_HOME}/bin", "/opt/jdk/bin"},
		{"${NOT_A_KEY}/x", "${NOT_A_KEY}/x"},             // unknown name
		{"${ENVIRON}/x", "${ENVIRON}/x"},                 // known name, no value
		{"${HERON_BIN}", "${HERON_HOME}/bin"},            // one pass only here
		{"./${HERON_HOME}/bin", "./usr/local/heron/bin"}, // absolute child is appended
		{"file://${HERON_HOME}/dist/core.tar.gz", "file:///usr/local/heron/dist/core.tar.gz"},
		{"hdfs:///heron/topology/", "hdfs:///heron/topology"},
		{"http://host:9000/api/v1/file/upload", "http://host:9000/api/v1/file/upload"},
		{"a//b///c/", "a/b/c"},
		{"  /x/y  ", "/x/y"},
		{"/", "/"},
		{"//", "/"},
		{"", ""},
		{"LOCALMODE", "LOCALMODE"},
		{"127.0.0.1:2181,h:2181", "127.0.0.1:2181,h:2181"},
		{"${DRY_RUN}/${INSTANCE_CPU}", "false/1.5"},
		{"${DOWNLOADER_PROTOCOLS}", "${DOWNLOADER_PROTOCOLS}"}, // maps are not text
		{"~user/x", "~user/x"},
	} {
		if got := e.substitute(vals, tc.in); got != tc.want {
			t.Errorf("substitute(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestExpandAllChainsAndCycles(t *testing.T) {
	e := expander{home: "/h", lookup: func(string) (string, bool) { return "", false }}
	raw := defaults()
	raw[KeyHeronHome] = "/opt/heron"
	raw[KeyHeronConf] = "/opt/heron/conf/local"
	raw["x.core"] = "file://${HERON_DIST}/heron-core.tar.gz"
	got := e.expandAll(raw)
	for k, want := range map[string]string{
		"heron.binaries.executor":       "/opt/heron/bin/heron-executor",
		"x.core":                        "file:///opt/heron/dist/heron-core.tar.gz",
		"heron.config.file.client.yaml": "/opt/heron/conf/local/client.yaml",
		"heron.classpath.instance":      "/opt/heron/lib/instance/*",
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %s", k, got[k], want)
		}
	}
	if raw["heron.binaries.executor"] != "${HERON_BIN}/heron-executor" {
		t.Error("expandAll changed its input")
	}

	// Two keys naming each other must stop, not loop.
	cyc := map[string]any{"heron.directory.bin": "${HERON_LIB}", "heron.directory.lib": "${HERON_BIN}"}
	out := e.expandAll(cyc)
	if len(out) != 2 {
		t.Fatalf("cycle: %v", out)
	}
}
