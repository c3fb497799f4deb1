//go:build !linux

package localfs

import "errors"

// notifier is Linux-only (inotify); elsewhere watches rely on polling.
type notifier struct{}

func newNotifier() *notifier { return nil }

func (n *notifier) subscribe(dir, name string) (<-chan struct{}, func()) { return nil, func() {} }

func (n *notifier) close() {}

func renameNoReplace(oldpath, newpath string) error { return errors.ErrUnsupported }
