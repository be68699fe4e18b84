package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNodeExecutablePrefersProjectNode(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "node_modules/.bin/node", "#!/bin/sh\n", 0o755)
	got, err := nodeExecutable(root, filepath.Join(root, "src"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "node_modules", ".bin", "node"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNodeExecutableFallsBackToPath(t *testing.T) {
	root := t.TempDir()
	// A non-executable file is not a usable node.
	writeFile(t, root, "node_modules/.bin/node", "not executable", 0o644)
	bin := t.TempDir()
	writeFile(t, bin, "node", "#!/bin/sh\n", 0o755)
	t.Setenv("PATH", bin)
	got, err := nodeExecutable(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(bin, "node"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}

	t.Setenv("PATH", t.TempDir())
	if _, err := nodeExecutable(root); err == nil {
		t.Error("expected an error when no node can be found")
	}
}

func TestLocateRunnerWalksUp(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "node_modules/@pulumi/pulumi/cmd/run/index.js", "", 0o644)
	sub := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := locateRunner(sub)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "node_modules", "@pulumi", "pulumi", "cmd", "run", "index.js"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := locateRunner(t.TempDir()); err == nil {
		t.Error("expected an error without @pulumi/pulumi")
	}
}
