package config

import (
	"regexp"
	"strings"
)

// maxExpandPasses bounds expansion, so that tokens referring to each other in a
// cycle stop instead of looping.
const maxExpandPasses = 32

var (
	urlPattern   = regexp.MustCompile(`^(.+)://(.+)$`)
	tokenPattern = regexp.MustCompile(`^\$\{([A-Z_]+)\}$`)
)

// expander holds what token substitution needs besides the config itself.
type expander struct {
	home   string                      // ${HOME} and ~
	lookup func(string) (string, bool) // environment, for ${JAVA_HOME}
}

// expandAll substitutes tokens in every top-level string value until no value
// changes. Each pass reads the values of the previous pass, as Heron's does.
func (e expander) expandAll(raw map[string]any) map[string]any {
	cur := make(map[string]any, len(raw))
	for k, v := range raw {
		cur[k] = v
	}
	for range maxExpandPasses {
		next := make(map[string]any, len(cur))
		changed := false
		for k, v := range cur {
			if s, ok := v.(string); ok {
				x := e.substitute(cur, s)
				if x != s {
					changed = true
				}
				next[k] = x
				continue
			}
			next[k] = v
		}
		cur = next
		if !changed {
			break
		}
	}
	return cur
}

// substitute is Heron's TokenSub.substitute: trim, keep a "scheme://" prefix,
// split the rest on '/', replace each component that is wholly a token, and
// join the components the way java.io.File does.
func (e expander) substitute(vals map[string]any, s string) string {
	s = trimSpace(s)
	if m := urlPattern.FindStringSubmatch(s); m != nil {
		return m[1] + "://" + e.substitute(vals, m[2])
	}
	if s != "" && strings.Trim(s, "/") == "" {
		return "/" // Heron fails on a bare root; the root is what was meant
	}
	parts := strings.Split(s, "/")
	for i, p := range parts {
		parts[i] = e.token(vals, p)
	}
	return tidy(joinFile(parts))
}

// token returns the replacement for one path component, or the component
// itself when it is not a token Heron knows or the key has no value.
func (e expander) token(vals map[string]any, p string) string {
	switch p {
	case "${HOME}", "~":
		return e.home
	case "${JAVA_HOME}":
		if v, ok := e.lookup("JAVA_HOME"); ok {
			return v
		}
		return p
	}
	m := tokenPattern.FindStringSubmatch(p)
	if m == nil {
		return p
	}
	key, ok := tokenKeys[m[1]]
	if !ok {
		return p
	}
	v, ok := vals[key]
	if !ok || v == nil {
		return p
	}
	switch v.(type) {
	case map[string]any, []any:
		return p
	}
	return formatScalar(v)
}

// joinFile joins path components as nested java.io.File(parent, child) calls:
// duplicate and trailing slashes go, an empty first component means the root,
// and an absolute child is appended to its parent rather than replacing it.
func joinFile(parts []string) string {
	// Java's split drops trailing empty strings.
	for len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) == 1 && parts[0] == "" {
		return ""
	}
	p := normalizeFile(parts[0])
	for _, c := range parts[1:] {
		c = normalizeFile(c)
		if p == "" {
			p = resolveFile("/", c)
		} else {
			p = resolveFile(p, c)
		}
	}
	return p
}

func normalizeFile(s string) string {
	if !strings.Contains(s, "//") && (len(s) <= 1 || !strings.HasSuffix(s, "/")) {
		return s
	}
	var b strings.Builder
	prev := byte(0)
	for i := 0; i < len(s); i++ {
		if s[i] == '/' && prev == '/' {
			continue
		}
		b.WriteByte(s[i])
		prev = s[i]
	}
	out := b.String()
	if len(out) > 1 {
		out = strings.TrimSuffix(out, "/")
	}
	return out
}

func resolveFile(parent, child string) string {
	switch {
	case child == "":
		return parent
	case strings.HasPrefix(child, "/"):
		if parent == "/" {
			return child
		}
		return parent + child
	case parent == "/":
		return parent + child
	}
	return parent + "/" + child
}

// trimSpace trims as Java's String.trim does: every char up to ' '.
func trimSpace(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

// tidy trims spaces and trailing slashes until neither is left: dropping a
// trailing slash can expose spaces ("a /") and the other way round.
func tidy(s string) string {
	for {
		t := trimSpace(s)
		if len(t) > 1 {
			t = strings.TrimRight(t, "/")
			if t == "" {
				t = "/"
			}
		}
		if t == s {
			return s
		}
		s = t
	}
}
