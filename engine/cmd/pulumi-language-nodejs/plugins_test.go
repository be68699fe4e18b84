package main

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeProject lays out a program whose node_modules resembles a real npm install:
// a scoped provider SDK, a provider reached only transitively (nested node_modules), a
// parameterized package, a package without a plugin, a dependency that is not installed, and
// an installed package nobody depends on (which must not be reported).
func fakeProject(t *testing.T) string {
	root := t.TempDir()
	w := func(path, content string) { writeFile(t, root, path, content, 0o644) }
	w("package.json", `{"name":"prog","dependencies":{"@pulumi/pulumi":"3.270.0","@pulumi/aws":"7.48.0",
		"wrapper":"1.0.0","missing-pkg":"1.0.0"},"devDependencies":{"@pulumi/command":"1.2.1"}}`)
	w("node_modules/@pulumi/pulumi/package.json",
		`{"name":"@pulumi/pulumi","version":"3.270.0","pulumi":{"comment":"deployment-time-only"}}`)
	w("node_modules/@pulumi/aws/package.json",
		`{"name":"@pulumi/aws","version":"7.48.0","dependencies":{"@pulumi/pulumi":"^3"},
		  "pulumi":{"resource":true,"name":"aws","version":"7.48.0"}}`)
	w("node_modules/@pulumi/command/package.json",
		`{"name":"@pulumi/command","version":"1.2.1","pulumi":{"resource":true,"name":"command","version":"1.2.1"}}`)
	// wrapper pulls in its own copy of random from a nested node_modules, with a download server.
	w("node_modules/wrapper/package.json", `{"name":"wrapper","version":"1.0.0","dependencies":{"@pulumi/random":"4"}}`)
	w("node_modules/wrapper/node_modules/@pulumi/random/package.json",
		`{"name":"@pulumi/random","version":"4.16.0","pulumi":{"resource":true,"server":"https://example.invalid/random"}}`)
	w("node_modules/unrelated/package.json",
		`{"name":"unrelated","version":"1.0.0","pulumi":{"resource":true,"name":"unrelated","version":"9.9.9"}}`)
	return root
}

func TestRequiredPackagesWalksDependencyTree(t *testing.T) {
	root := fakeProject(t)
	pkgs, err := requiredPackages(root, root)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	servers := map[string]string{}
	for _, p := range pkgs {
		if p.Kind != "resource" {
			t.Errorf("%s: kind %q, want resource", p.Name, p.Kind)
		}
		got[p.Name] = p.Version
		servers[p.Name] = p.Server
	}
	want := map[string]string{"aws": "7.48.0", "command": "1.2.1", "random": "4.16.0"}
	if len(got) != len(want) {
		t.Fatalf("got plugins %v, want %v", got, want)
	}
	for name, version := range want {
		if got[name] != version {
			t.Errorf("plugin %s: got version %q, want %q (all: %v)", name, got[name], version, got)
		}
	}
	if servers["random"] != "https://example.invalid/random" {
		t.Errorf("random: server %q not passed through", servers["random"])
	}
}

func TestRequiredPackagesFromProgramSubdirectory(t *testing.T) {
	// main: src/index.ts — package.json is one level above the program directory.
	root := fakeProject(t)
	sub := filepath.Join(root, "src")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	pkgs, err := requiredPackages(sub, root)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 3 {
		t.Fatalf("got %d plugins from subdirectory, want 3: %v", len(pkgs), pkgs)
	}
}

func TestRequiredPackagesSymlinkedNodeModulesAndParameterization(t *testing.T) {
	// The project's node_modules is a symlink to a shared install (as in gpmirror's test
	// projects); a parameterized package carries its base64 value through.
	shared := t.TempDir()
	writeFile(t, shared, "node_modules/@pulumi/tf/package.json", `{"name":"@pulumi/tf","version":"0.1.0",
		"pulumi":{"resource":true,"name":"terraform-provider","version":"0.8.0",
		"parameterization":{"name":"tf","version":"0.1.0","value":"aGVsbG8="}}}`, 0o644)
	root := t.TempDir()
	writeFile(t, root, "package.json", `{"name":"prog","dependencies":{"@pulumi/tf":"0.1.0"}}`, 0o644)
	if err := os.Symlink(filepath.Join(shared, "node_modules"), filepath.Join(root, "node_modules")); err != nil {
		t.Fatal(err)
	}
	pkgs, err := requiredPackages(root, root)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 {
		t.Fatalf("got %v, want one package", pkgs)
	}
	p := pkgs[0]
	if p.Name != "terraform-provider" || p.Version != "0.8.0" || p.Parameterization == nil ||
		p.Parameterization.Name != "tf" || string(p.Parameterization.Value) != "hello" {
		t.Errorf("unexpected package %v", p)
	}
	// The deprecated view cannot express parameterization, so it leaves the package out.
	plugins, err := requiredPlugins(root, root)
	if err != nil {
		t.Fatal(err)
	}
	if len(plugins) != 0 {
		t.Errorf("GetRequiredPlugins view: got %v, want none", plugins)
	}
}

func TestRequiredPackagesRejectsInvalidVersion(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "package.json", `{"name":"prog","dependencies":{"bad":"1"}}`, 0o644)
	writeFile(t, root, "node_modules/bad/package.json",
		`{"name":"bad","version":"1.0.0","pulumi":{"resource":true,"version":"not-a-version"}}`, 0o644)
	if _, err := requiredPackages(root, root); err == nil {
		t.Fatal("expected an error naming the package with the invalid version")
	}
}

func TestRequiredPackagesWithoutPackageJSON(t *testing.T) {
	root := t.TempDir()
	pkgs, err := requiredPackages(root, root)
	if err != nil || len(pkgs) != 0 {
		t.Fatalf("got %v, %v; want no packages and no error", pkgs, err)
	}
}
