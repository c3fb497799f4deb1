// Package all registers every uploader backend (local FS, HTTP, SCP/SFTP, S3,
// HDFS): import it for its side effect wherever a cluster's uploader is opened.
package all

import (
	// Backends register their class names and URI schemes in init.
	_ "github.com/heronkit/heronkit/lib/uploader/http"
	_ "github.com/heronkit/heronkit/lib/uploader/localfs"
	_ "github.com/heronkit/heronkit/lib/uploader/remote"
)
