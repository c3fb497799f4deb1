// Package exitcode is the one table of exit statuses shared by every heron-*
// binary, and the error type that carries a status to lib/cli.
//
//	0   OK           success
//	1   Failure      the operation failed for another reason
//	80  Usage        bad flags or arguments (kong's own usage errors)
//	81  DataErr      invalid input data: JSON, YAML, a corrupt state node, a bad archive
//	82  Config       missing or invalid configuration
//	83  Forbidden    authentication or permission refused
//	84  NotFound     the topology, node, file or URI does not exist
//	85  Conflict     already exists, already running, or locked by someone else
//	100 Internal     a bug: please report it
//	101 Unavailable  a server (ZooKeeper, topology manager, API server) cannot be reached in time
//	130 Interrupted  stopped by SIGINT or SIGTERM
package exitcode

import (
	"errors"
	"fmt"
)

// The exit statuses.
const (
	OK          = 0
	Failure     = 1
	Usage       = 80
	DataErr     = 81
	Config      = 82
	Forbidden   = 83
	NotFound    = 84
	Conflict    = 85
	Internal    = 100
	Unavailable = 101
	Interrupted = 130
)

// Table lists every status with its name, for docs and man pages.
var Table = []struct {
	Code int
	Name string
	Text string
}{
	{OK, "ok", "success"},
	{Failure, "failure", "the operation failed"},
	{Usage, "usage", "bad flags or arguments"},
	{DataErr, "data", "invalid input data (JSON, YAML, corrupt state, bad archive)"},
	{Config, "config", "missing or invalid configuration"},
	{Forbidden, "forbidden", "authentication or permission refused"},
	{NotFound, "not-found", "the topology, node, file or URI does not exist"},
	{Conflict, "conflict", "already exists, already running, or locked"},
	{Internal, "internal", "internal error (a bug)"},
	{Unavailable, "unavailable", "a server cannot be reached in time"},
	{Interrupted, "interrupted", "stopped by a signal"},
}

// Error is an error with an exit status and an optional hint telling the
// user what to do.
type Error struct {
	Status int
	Err    error
	Hint   string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ExitCode satisfies kong.ExitCoder.
func (e *Error) ExitCode() int { return e.Status }

// New makes a sentinel-style error with a status: errors.Is works on it.
func New(status int, msg string) error { return &Error{Status: status, Err: errors.New(msg)} }

// Wrap gives err a status, keeping it in the chain.
func Wrap(status int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Status: status, Err: err}
}

// Errorf formats a message with a status; %w works.
func Errorf(status int, format string, args ...any) error {
	return &Error{Status: status, Err: fmt.Errorf(format, args...)}
}

// WithHint attaches a hint to err.
func WithHint(err error, hint string) error {
	return &Error{Status: Code(err), Err: err, Hint: hint}
}

// Code finds the status of err: the outermost error in the chain that has
// one, else Failure.
func Code(err error) int {
	if err == nil {
		return OK
	}
	var c interface{ ExitCode() int }
	if errors.As(err, &c) {
		return c.ExitCode()
	}
	return Failure
}

// Hint returns the first hint in err's chain.
func Hint(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return ""
		}
		if e.Hint != "" {
			return e.Hint
		}
		err = e.Err
	}
	return ""
}
