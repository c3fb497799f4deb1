// Package remote links the remote uploaders into a binary: import it for its
// side effect. Each backend registers its Heron short name and its URI
// schemes with lib/uploader in init:
//
//	scp  (org.apache.heron.uploader.scp.ScpUploader)   sftp://, scp://
//	s3   (org.apache.heron.uploader.s3.S3Uploader)     s3://
//	hdfs (org.apache.heron.uploader.hdfs.HdfsUploader) hdfs://
package remote

import (
	// Backends register in init.
	_ "github.com/heronkit/heronkit/lib/uploader/hdfs"
	_ "github.com/heronkit/heronkit/lib/uploader/s3"
	_ "github.com/heronkit/heronkit/lib/uploader/sftp"
)
