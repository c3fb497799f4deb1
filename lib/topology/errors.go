package topology

import (
	"fmt"
	"strings"

	"github.com/heronkit/heronkit/lib/exitcode"
)

// Error is one problem in a topology file, located so that an editor can jump
// to it: "wordcount.yaml:12: streams[1].fields: ...".
type Error struct {
	File  string
	Line  int    // 1-based; 0 when the problem has no single place
	Field string // a path like spouts[0].parallelism; "" for the whole file
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ExitCode makes a single Error map to the data-error status.
func (e *Error) ExitCode() int { return exitcode.DataErr }

// Errors is every problem found in one file, in file order. Its message is
// one line (problems joined with "; ") because the CLI prints one line.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// ExitCode: an invalid topology file is invalid input data.
func (es Errors) ExitCode() int { return exitcode.DataErr }

// errs collects located errors while parsing or validating.
type errs struct {
	file string
	list Errors
}

func (c *errs) add(line int, field, format string, args ...any) {
	c.list = append(c.list, &Error{File: c.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (c *errs) err() error {
	if len(c.list) == 0 {
		return nil
	}
	return c.list
}
