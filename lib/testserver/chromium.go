package testserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Browser is one headless Chromium tab for a test, driven with chromedp
// (v0.22, the generic API: chromedp.Do for steps, chromedp.Run for values).
// Uncaught JavaScript exceptions are collected so tests can fail on them.
type Browser struct {
	// Ctx runs chromedp actions in the tab; it ends with the test or
	// after the time limit given to StartChromium.
	Ctx context.Context

	mu     sync.Mutex
	errors []string
}

// StartChromium starts Debian's headless chromium with a window of the
// given size and a private profile, and stops it at test cleanup. The whole
// browser session is bounded by limit. A missing chromium skips the test
// (fails it under CI=true).
func StartChromium(t testing.TB, width, height int, limit time.Duration) *Browser {
	t.Helper()
	exe := Require(t, "chromium")
	// The Debian wrapper script only adds flags; the real binary beside it
	// starts the same browser without the wrapper's shell noise.
	if real := "/usr/lib/chromium/chromium"; strings.HasPrefix(exe, "/usr/bin/") {
		if _, err := os.Stat(real); err == nil {
			exe = real
		}
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "chromium.log"))
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // tests run as root in containers
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(width, height),
		chromedp.CombinedOutput(logf),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelLimit := context.WithTimeout(ctx, limit)
	b := &Browser{Ctx: ctx}
	t.Cleanup(func() {
		cancelLimit()
		cancelTab()
		cancelAlloc() // kills the browser process and waits for it
		logf.Close()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium (%s): %v", exe, err)
	}
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.errors = append(b.errors, describeException(ev.ExceptionDetails))
			b.mu.Unlock()
		}
	}()
	return b
}

// JSErrors returns the uncaught JavaScript exceptions seen so far.
func (b *Browser) JSErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

func describeException(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "unknown exception"
	}
	msg := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		msg += " " + d.Exception.Description
	}
	return fmt.Sprintf("%s (%s:%d:%d)", msg, d.URL, d.LineNumber+1, d.ColumnNumber+1)
}
