package testscripts

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	commands["status"] = cmdStatus
	commands["waitfor"] = cmdWaitFor
}

// cmdStatus runs a program and checks its exact exit status, keeping its
// stdout and stderr for the next stdout/stderr/json checks:
//
//	status 84 heron-statemgr get pplan nosuch
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("status: %q is not a number", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("status: %v", err)
	}
	if got != want {
		ts.Logf("stdout:\n%s", ts.ReadFile("stdout"))
		ts.Logf("stderr:\n%s", ts.ReadFile("stderr"))
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// cmdWaitFor waits until a file (written by a background command) matches a
// regular expression:
//
//	waitfor watch.out '"event":"changed"' [seconds]
//
// The default limit is 20 seconds; the script fails when it passes.
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: waitfor FILE REGEXP [SECONDS]")
	}
	re, err := regexp.Compile(args[1])
	if err != nil {
		ts.Fatalf("waitfor: %v", err)
	}
	limit := 20 * time.Second
	if len(args) > 2 {
		s, err := strconv.Atoi(args[2])
		if err != nil {
			ts.Fatalf("waitfor: %q is not a number of seconds", args[2])
		}
		limit = time.Duration(s) * time.Second
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(limit)
	for {
		b, _ := os.ReadFile(path)
		if re.Match(b) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitfor: %s did not match %q within %s; it holds:\n%s", args[0], args[1], limit, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
