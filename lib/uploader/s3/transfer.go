package s3

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"

	"github.com/minio/minio-go/v7"

	"github.com/heronkit/heronkit/lib/uploader/internal/transfer"
)

// Multipart settings: packages above partSize go up in parts, partThreads at
// a time; a part is invisible until the upload is completed, and a failed
// upload is aborted, so readers never see a partial package.
const (
	partSize    = 16 << 20
	partThreads = 4
)

// put uploads local to bucket/key. When key already exists it is first
// copied to the previous_ backup, as Heron does, so that undo can restore it.
// It reports whether a backup was made.
func put(ctx context.Context, c *minio.Client, remote, bucket, key, local string, progress io.Writer) (backedUp bool, err error) {
	f, err := os.Open(local)
	if err != nil {
		return false, transfer.Errorf(transfer.NotFound, "read topology package", local, err, "")
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, transfer.Errorf(transfer.Failed, "read topology package", local, err, "")
	}
	if _, err := c.StatObject(ctx, bucket, key, minio.StatObjectOptions{}); err == nil {
		if err := copyObject(ctx, c, bucket, key, backupKey(key)); err != nil {
			return false, s3Error(ctx, "back up the previous package at", remote, err)
		}
		backedUp = true
	} else if !isNoSuchKey(err) {
		return false, s3Error(ctx, "upload to", remote, err)
	}
	pr, done := transfer.ProgressCounter(progress, "upload "+remote, st.Size())
	_, err = c.PutObject(ctx, bucket, key, f, st.Size(), minio.PutObjectOptions{
		ContentType: "application/gzip",
		PartSize:    partSize,
		NumThreads:  partThreads,
		Progress:    pr,
	})
	done()
	if err != nil {
		return backedUp, s3Error(ctx, "upload to", remote, err)
	}
	return backedUp, nil
}

func copyObject(ctx context.Context, c *minio.Client, bucket, from, to string) error {
	_, err := c.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: bucket, Object: to},
		minio.CopySrcOptions{Bucket: bucket, Object: from})
	return err
}

// restore puts the backup back over key when there is one, else removes key:
// either way the bucket is as it was before the upload.
func restore(ctx context.Context, c *minio.Client, remote, bucket, key string) error {
	if _, err := c.StatObject(ctx, bucket, backupKey(key), minio.StatObjectOptions{}); err == nil {
		if err := copyObject(ctx, c, bucket, backupKey(key), key); err != nil {
			return s3Error(ctx, "restore the previous package at", remote, err)
		}
		return nil
	} else if !isNoSuchKey(err) {
		return s3Error(ctx, "check the backup of", remote, err)
	}
	if err := c.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}); err != nil && !isNoSuchKey(err) {
		return s3Error(ctx, "remove", remote, err)
	}
	return nil
}

// dropBackup removes the previous_ backup (Heron's close).
func dropBackup(ctx context.Context, c *minio.Client, remote, bucket, key string) error {
	if err := c.RemoveObject(ctx, bucket, backupKey(key), minio.RemoveObjectOptions{}); err != nil && !isNoSuchKey(err) {
		return s3Error(ctx, "remove the backup of", remote, err)
	}
	return nil
}

// get streams bucket/key into w.
func get(ctx context.Context, c *minio.Client, remote, bucket, key string, w io.Writer, progress io.Writer) error {
	st, err := c.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return s3Error(ctx, "fetch", remote, err)
	}
	o, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return s3Error(ctx, "fetch", remote, err)
	}
	defer o.Close()
	dst, done := transfer.ProgressWriter(progress, "fetch "+remote, st.Size, w)
	_, err = io.Copy(dst, o)
	done()
	if err != nil {
		return s3Error(ctx, "fetch", remote, err)
	}
	return nil
}

func isNoSuchKey(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == "NoSuchKey" || (r.StatusCode == http.StatusNotFound && r.Code != "NoSuchBucket")
}

// s3Error sorts a failure by the S3 error code or the network error.
func s3Error(ctx context.Context, op, remote string, err error) error {
	r := minio.ToErrorResponse(err)
	switch {
	case ctx.Err() != nil:
		return transfer.Errorf(transfer.Failed, op, remote, ctx.Err(), "")
	case r.Code == "NoSuchBucket":
		return transfer.Errorf(transfer.NotFound, op, remote, errors.New("the bucket does not exist"),
			"create it, or set "+KeyBucket+" to an existing bucket")
	case r.Code == "NoSuchKey":
		return transfer.Errorf(transfer.NotFound, op, remote, errors.New("no such object"), "")
	case r.Code == "InvalidAccessKeyId" || r.Code == "SignatureDoesNotMatch" || r.Code == "InvalidToken" ||
		r.Code == "ExpiredToken" || r.Code == "AuthorizationHeaderMalformed":
		return transfer.Errorf(transfer.Auth, op, remote, errors.New(r.Code+": "+r.Message),
			"check "+KeyAccessKey+"/"+KeySecretKey+" (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials) and "+KeyRegion)
	case r.Code == "AccessDenied" || r.StatusCode == http.StatusForbidden:
		return transfer.Errorf(transfer.Denied, op, remote, errors.New(firstNonEmpty(r.Code+": "+r.Message, err.Error())),
			"the credentials need s3:PutObject, s3:GetObject and s3:DeleteObject on the bucket")
	case r.Code != "":
		return transfer.Errorf(transfer.Failed, op, remote, errors.New(r.Code+": "+r.Message), "")
	case transfer.IsNetwork(err):
		return transfer.Errorf(transfer.Network, op, remote, err, "check "+KeyEndpoint+" and that the store is running")
	default:
		return transfer.Errorf(transfer.Failed, op, remote, err, "")
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" && v != ": " {
			return v
		}
	}
	return ""
}
