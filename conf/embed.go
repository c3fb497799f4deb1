// Package conf embeds the cluster configuration folders shipped with the
// toolkit, so that every binary has working defaults (the local cluster)
// even when nothing is installed next to it.
package conf

import "embed"

// FS holds every shipped cluster folder (local, localzk, nomad).
//
//go:embed all:local all:localzk all:nomad
var FS embed.FS
