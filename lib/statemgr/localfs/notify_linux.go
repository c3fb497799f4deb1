package localfs

import (
	"errors"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// notifier shares one inotify instance among all watches of a Store (the
// kernel allows few instances per user), watching each subtree directory once
// and waking the subscribers of the entry that changed.
type notifier struct {
	fd   int
	mu   sync.Mutex
	wds  map[int]string                        // watch descriptor -> dir
	dirs map[string]int                        // dir -> watch descriptor
	subs map[string]map[string][]chan struct{} // dir -> name ("" = any) -> wakers
	stop chan struct{}
}

const inotifyMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM |
	unix.IN_CLOSE_WRITE | unix.IN_MODIFY | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR

// newNotifier returns nil when inotify is unavailable; watches then only poll.
func newNotifier() *notifier {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	n := &notifier{fd: fd, wds: map[int]string{}, dirs: map[string]int{},
		subs: map[string]map[string][]chan struct{}{}, stop: make(chan struct{})}
	go n.loop()
	return n
}

func (n *notifier) subscribe(dir, name string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	if n.subs[dir] == nil {
		n.subs[dir] = map[string][]chan struct{}{}
	}
	n.subs[dir][name] = append(n.subs[dir][name], ch)
	n.addWatchLocked(dir)
	n.mu.Unlock()
	return ch, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		list := n.subs[dir][name]
		for i, c := range list {
			if c == ch {
				n.subs[dir][name] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(n.subs[dir][name]) == 0 {
			delete(n.subs[dir], name)
		}
		if len(n.subs[dir]) == 0 {
			delete(n.subs, dir)
			if wd, ok := n.dirs[dir]; ok {
				_, _ = unix.InotifyRmWatch(n.fd, uint32(wd))
				delete(n.dirs, dir)
				delete(n.wds, wd)
			}
		}
	}
}

// addWatchLocked watches dir if it exists; a missing dir is retried by loop.
func (n *notifier) addWatchLocked(dir string) {
	if _, ok := n.dirs[dir]; ok {
		return
	}
	wd, err := unix.InotifyAddWatch(n.fd, dir, inotifyMask)
	if err != nil {
		return
	}
	n.dirs[dir] = wd
	n.wds[wd] = dir
	// The dir may have changed before the watch existed.
	n.wakeLocked(dir, "", true)
}

func (n *notifier) wakeLocked(dir, name string, all bool) {
	for key, list := range n.subs[dir] {
		if all || key == "" || key == name {
			for _, ch := range list {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}
}

func (n *notifier) loop() {
	defer unix.Close(n.fd)
	buf := make([]byte, 64*1024)
	fds := []unix.PollFd{{Fd: int32(n.fd), Events: unix.POLLIN}}
	for {
		select {
		case <-n.stop:
			return
		default:
		}
		// The timeout lets the loop notice stop and retry missing dirs.
		nready, err := unix.Poll(fds, int(PollInterval.Milliseconds()))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		n.mu.Lock()
		if nready > 0 {
			n.drainLocked(buf)
		}
		for dir := range n.subs {
			n.addWatchLocked(dir)
		}
		n.mu.Unlock()
	}
}

func (n *notifier) drainLocked(buf []byte) {
	for {
		k, err := unix.Read(n.fd, buf)
		if err != nil || k <= 0 {
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= k; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameBytes := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			name := cString(nameBytes)
			switch {
			case ev.Mask&unix.IN_Q_OVERFLOW != 0:
				for dir := range n.subs {
					n.wakeLocked(dir, "", true)
				}
			case ev.Mask&(unix.IN_IGNORED|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0:
				// The directory went away; loop re-adds it when it is back.
				if dir, ok := n.wds[int(ev.Wd)]; ok {
					if ev.Mask&unix.IN_IGNORED == 0 {
						_, _ = unix.InotifyRmWatch(n.fd, uint32(ev.Wd))
					}
					delete(n.wds, int(ev.Wd))
					delete(n.dirs, dir)
					n.wakeLocked(dir, "", true)
				}
			default:
				if dir, ok := n.wds[int(ev.Wd)]; ok && !hidden(name) {
					n.wakeLocked(dir, name, false)
				}
			}
		}
	}
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// close stops the loop without waiting for its poll timeout; the loop
// closes the inotify descriptor when it exits.
func (n *notifier) close() {
	close(n.stop)
}

// renameNoReplace renames old to new unless new exists (fs.ErrExist).
func renameNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return errors.ErrUnsupported
	}
	return err
}
