package nomad

import (
	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/scheduler"
	"github.com/heronkit/heronkit/lib/statemgr"
)

// A blank import of this package makes heron.class.launcher "nomad" (and
// Heron's NomadLauncher) available, and the in-process scheduler that kill,
// restart and update use (Nomad runs with heron.scheduler.is.service false).
func init() {
	scheduler.Register(Name, NewLauncher)
	scheduler.RegisterLibrary(Name, func(c *config.Config, s statemgr.Store, l zerolog.Logger) (scheduler.Library, error) {
		return NewScheduler(c, s, l)
	})
}
