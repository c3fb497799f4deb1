package apiserver

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// authorized checks the bearer token of a mutating request. No configured
// token means no check (Heron's behaviour). The comparison takes the same
// time whatever the guess.
func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Token == "" {
		return true
	}
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.opts.Token)) == 1
}

// requireToken wraps a mutating handler with the bearer-token check.
func (s *Server) requireToken(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			s.metrics.rejected.WithLabelValues("auth").Inc()
			w.Header().Set("WWW-Authenticate", `Bearer realm="heron-apiserver"`)
			// The body is not read: close the connection rather than drain
			// an upload nobody may send.
			w.Header().Set("Connection", "close")
			msg := "missing bearer token: send Authorization: Bearer <token> (heron-submit --service-token, or HERON_APISERVER_TOKEN)"
			if r.Header.Get("Authorization") != "" {
				msg = "wrong bearer token: check the token given to heron-apiserver --token-file"
			}
			writeMessage(w, http.StatusUnauthorized, msg)
			return
		}
		h(w, r)
	}
}
