// The Scribe logging service, as Heron's ScribeSink spoke it: one Log call
// carries a list of (category, message) entries and answers OK or TRY_LATER.
// Regenerate the Go binding with `go generate ./lib/sink/scribe` (needs the
// thrift compiler, Debian package thrift-compiler).

namespace go scribethrift

enum ResultCode {
  OK = 0,
  TRY_LATER = 1
}

struct LogEntry {
  1: string category,
  2: string message
}

service scribe {
  ResultCode Log(1: list<LogEntry> messages);
}
