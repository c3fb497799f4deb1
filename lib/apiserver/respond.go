package apiserver

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/heronkit/heronkit/lib/exitcode"
)

// statusUnprocessable is Heron's status for missing or wrong form fields.
const statusUnprocessable = http.StatusUnprocessableEntity

// message is Heron's {"message": "..."} body.
type message struct {
	Message string `json:"message"`
}

// validation is Heron's body for missing submit fields.
type validation struct {
	Message string `json:"message"`
	Errors  struct {
		MissingParameters []string `json:"missing_parameters"`
	} `json:"errors"`
}

// writeJSON writes v compactly, as Heron's Jackson ObjectNode.toString does.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"cannot encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeIndented writes v pretty-printed (Heron pretty-prints version and the
// 404 path list).
func writeIndented(w http.ResponseWriter, status int, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeMessage(w http.ResponseWriter, status int, text string) {
	writeJSON(w, status, message{Message: text})
}

// statusOf maps a library error's exit code to an HTTP status. Heron answers
// 500 for every failure but a kill of an unknown topology (404); the Heron CLI
// treats any status but 200/201 as failure and prints "message", so the more
// precise statuses below break no Heron client.
func statusOf(err error) int {
	if errors.Is(err, ErrTooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	switch exitcode.Code(err) {
	case exitcode.Usage, exitcode.DataErr:
		return statusUnprocessable
	case exitcode.Forbidden:
		return http.StatusForbidden
	case exitcode.NotFound:
		return http.StatusNotFound
	case exitcode.Conflict:
		return http.StatusConflict
	case exitcode.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// notFoundBody is Heron's answer for an unknown path under /api/v1/.
var notFoundBody = map[string][]string{
	"paths": {"/api/v1/topologies", "/api/v1/version", "/api/v1/file"},
}
