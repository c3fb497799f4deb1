// Package all registers every state-manager backend: import it for its side
// effect in binaries that open state managers by URI.
package all

import (
	// Backends register their URI schemes in init.
	_ "github.com/heronkit/heronkit/lib/statemgr/localfs"
	_ "github.com/heronkit/heronkit/lib/statemgr/zookeeper"
)
