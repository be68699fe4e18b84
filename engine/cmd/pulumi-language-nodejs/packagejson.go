package main

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// packageJSON is the part of a package.json this host reads.
type packageJSON struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Dependencies         map[string]string `json:"dependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
	// Pulumi is the "pulumi" block that Pulumi provider SDKs carry to say which resource plugin
	// (provider binary) they need; @pulumi/pulumi itself has one without "resource".
	Pulumi *pulumiBlock `json:"pulumi"`
}

// pulumiBlock is package.json's "pulumi": {"resource": true, "name", "version", "server", ...}.
type pulumiBlock struct {
	Resource         bool                  `json:"resource"`
	Name             string                `json:"name"`
	Version          string                `json:"version"`
	Server           string                `json:"server"`
	Parameterization *parameterizationJSON `json:"parameterization"`
}

// parameterizationJSON describes a parameterized package; Value is base64 in JSON, which
// encoding/json decodes into []byte by itself.
type parameterizationJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Value   []byte `json:"value"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// findProgramPackageDir walks up from programDir to the nearest directory holding a
// package.json, stopping at stopDir (the project root) if it is an ancestor. It returns "" when
// there is none, which is not an error: a program may have no dependencies at all.
func findProgramPackageDir(programDir, stopDir string) string {
	dir, err := filepath.Abs(programDir)
	if err != nil {
		return ""
	}
	stop := ""
	if stopDir != "" {
		if s, err := filepath.Abs(stopDir); err == nil {
			stop = s
		}
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if dir == stop || parent == dir {
			return ""
		}
		dir = parent
	}
}

// resolvePackageDir finds the directory of dependency name as required from fromDir, following
// Node's lookup: fromDir/node_modules/name, then each ancestor's node_modules.
func resolvePackageDir(fromDir, name string) (string, bool) {
	dir := fromDir
	for {
		candidate := filepath.Join(dir, "node_modules", filepath.FromSlash(name))
		if _, err := os.Stat(filepath.Join(candidate, "package.json")); err == nil {
			return candidate, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}
