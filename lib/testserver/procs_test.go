package testserver

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestProcsUnderFindsAndKills(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "60")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if _, ok := ProcsUnder(dir)[cmd.Process.Pid]; !ok {
		t.Fatalf("sleep (pid %d) not found under %s: %v", cmd.Process.Pid, dir, ProcsUnder(dir))
	}
	if left := ProcsUnder(t.TempDir()); len(left) != 0 {
		t.Errorf("processes under an empty folder: %v", left)
	}
	KillProcsUnder(dir)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("sleep still runs after KillProcsUnder")
	}
	if left := ProcsUnder(dir); len(left) != 0 {
		t.Errorf("left after the kill: %v", left)
	}
}
