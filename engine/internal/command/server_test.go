package command

import (
	"context"
	"fmt"

	"encoding/json"
	"github.com/blang/semver"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// noLoader refuses to load other packages: the schema must stand alone.
type noLoader struct{}

func (noLoader) LoadPackage(pkg string, _ *semver.Version) (*schema.Package, error) {
	return nil, fmt.Errorf("no package %s here", pkg)
}

func (noLoader) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, fmt.Errorf("no package %s here", d.Name)
}

type fakeHost struct {
	mu   sync.Mutex
	msgs []string
}

func (h *fakeHost) Log(_ context.Context, sev diag.Severity, urn resource.URN, msg string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, string(sev)+" "+string(urn)+" "+msg)
	return nil
}

func (h *fakeHost) text() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.msgs, "\n")
}

const localURN = "urn:pulumi:dev::proj::command:local:Command::cmd"

func mustMarshal(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustUnmarshal(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := unmarshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestProviderProtocolBasics(t *testing.T) {
	p := NewProvider(&fakeHost{}, nil)
	ctx := context.Background()
	hs, err := p.Handshake(ctx, &pulumirpc.ProviderHandshakeRequest{})
	if err != nil || !hs.AcceptSecrets || !hs.AcceptResources {
		t.Fatalf("handshake: %v %v", hs, err)
	}
	cfg, err := p.Configure(ctx, &pulumirpc.ConfigureRequest{})
	if err != nil || !cfg.AcceptSecrets || !cfg.SupportsPreview {
		t.Fatalf("configure: %v %v", cfg, err)
	}
	info, _ := p.GetPluginInfo(ctx, &emptypb.Empty{})
	if info.Version != "1.2.1" {
		t.Fatalf("version %q", info.Version)
	}
	sch, _ := p.GetSchema(ctx, &pulumirpc.GetSchemaRequest{})
	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(sch.Schema), &spec); err != nil {
		t.Fatal(err)
	}
	if _, diags, err := schema.BindSpec(spec, noLoader{}, schema.ValidationOptions{}); err != nil || diags.HasErrors() {
		t.Fatalf("schema does not bind: %v %v", err, diags)
	}
	if _, err := p.Check(ctx, &pulumirpc.CheckRequest{Urn: "urn:pulumi:dev::proj::command:local:Nope::x"}); err == nil {
		t.Fatal("unknown type accepted")
	}
}

func TestProviderCheckReportsFailures(t *testing.T) {
	p := NewProvider(nil, nil)
	resp, err := p.Check(context.Background(), &pulumirpc.CheckRequest{
		Urn: localURN, News: mustMarshal(t, pm(map[string]any{"create": 1})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Failures) != 1 || resp.Failures[0].Property != "create" {
		t.Fatalf("got %v", resp.Failures)
	}
}

func TestProviderLifecycleLocal(t *testing.T) {
	host := &fakeHost{}
	p := NewProvider(host, nil)
	ctx := context.Background()
	log := filepath.Join(t.TempDir(), "log")
	inputs := pm(map[string]any{
		"create":      "cat; echo created >> " + log,
		"delete":      `echo "deleted prev=$PULUMI_COMMAND_STDOUT env=$E" >> ` + log,
		"environment": map[string]any{"E": "e1"},
	})
	inputs["stdin"] = resource.MakeSecret(resource.NewStringProperty("top-secret\n"))

	// Preview: output unknown, nothing runs.
	prev, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: localURN, Properties: mustMarshal(t, inputs), Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	if !mustUnmarshal(t, prev.Properties)["stdout"].IsComputed() {
		t.Fatal("preview stdout should be unknown")
	}
	if _, err := os.Stat(log); err == nil {
		t.Fatal("preview ran the command")
	}

	created, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: localURN, Properties: mustMarshal(t, inputs)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.Id, "cmd-") {
		t.Fatalf("id %q", created.Id)
	}
	state := mustUnmarshal(t, created.Properties)
	if !state["stdout"].IsSecret() || state["stdout"].SecretValue().Element.StringValue() != "top-secret" {
		t.Fatalf("stdout must be secret and hold the echoed stdin: %v", state["stdout"])
	}
	if !state["stdin"].IsSecret() {
		t.Fatal("stdin lost its secretness")
	}
	if strings.Contains(created.Properties.String(), "top-secret") && !strings.Contains(created.Properties.String(), "1b47061264138c4ac30d75fd1eb44270") {
		t.Fatal("secret not marked in the wire form")
	}
	if !strings.Contains(host.text(), localURN+" [secret]") || strings.Contains(host.text(), "top-secret") {
		t.Fatalf("output line not logged with the URN, or the echoed secret not masked: %s", host.text())
	}

	// Same inputs: no diff.
	d, err := p.Diff(ctx, &pulumirpc.DiffRequest{Urn: localURN, Olds: created.Properties, OldInputs: mustMarshal(t, inputs),
		News: mustMarshal(t, inputs)})
	if err != nil || d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("diff of equal inputs: %v %v", d, err)
	}

	// Changed environment without an update command: create runs again.
	news := inputs.Copy()
	news["environment"] = resource.NewObjectProperty(pm(map[string]any{"E": "e2"}))
	d, _ = p.Diff(ctx, &pulumirpc.DiffRequest{Urn: localURN, Olds: created.Properties, News: mustMarshal(t, news)})
	if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 {
		t.Fatalf("want update, got %v", d)
	}
	updated, err := p.Update(ctx, &pulumirpc.UpdateRequest{Urn: localURN, Olds: created.Properties, News: mustMarshal(t, news)})
	if err != nil {
		t.Fatal(err)
	}
	// An update command runs instead of create and sees the previous stdout.
	news2 := news.Copy()
	news2["update"] = resource.NewStringProperty(`echo "updated prev=$PULUMI_COMMAND_STDOUT" >> ` + log + `; echo upd`)
	updated2, err := p.Update(ctx, &pulumirpc.UpdateRequest{Urn: localURN, Olds: updated.Properties, News: mustMarshal(t, news2)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Delete(ctx, &pulumirpc.DeleteRequest{Urn: localURN, Properties: updated2.Properties}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(log)
	want := "created\ncreated\nupdated prev=top-secret\ndeleted prev=upd env=e2\n"
	if string(b) != want {
		t.Fatalf("log:\n%s\nwant:\n%s", b, want)
	}
}

func TestProviderUpdateWithoutCommandsKeepsOutput(t *testing.T) {
	p := NewProvider(nil, nil)
	old := pm(map[string]any{"delete": "true", "stdout": "kept", "stderr": ""})
	news := pm(map[string]any{"delete": "false"})
	resp, err := p.Update(context.Background(), &pulumirpc.UpdateRequest{Urn: localURN, Olds: mustMarshal(t, old), News: mustMarshal(t, news)})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustUnmarshal(t, resp.Properties); got["stdout"].StringValue() != "kept" || got["delete"].StringValue() != "false" {
		t.Fatalf("got %v", got)
	}
}

func TestProviderTimeoutAndCancel(t *testing.T) {
	p := NewProvider(nil, nil)
	in := mustMarshal(t, pm(map[string]any{"create": "sleep 5"}))
	start := time.Now()
	_, err := p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: localURN, Properties: in, Timeout: 0.3})
	if err == nil || !strings.Contains(err.Error(), "timed out") || time.Since(start) > 4*time.Second {
		t.Fatalf("timeout not honoured: %v after %s", err, time.Since(start))
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, _ = p.Cancel(context.Background(), &emptypb.Empty{})
	}()
	start = time.Now()
	_, err = p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: localURN, Properties: in})
	if err == nil || !strings.Contains(err.Error(), "cancelled") || time.Since(start) > 4*time.Second {
		t.Fatalf("cancel not honoured: %v after %s", err, time.Since(start))
	}
}

func TestProviderInvokeLocalRun(t *testing.T) {
	p := NewProvider(nil, nil)
	resp, err := p.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: LocalRunFunction,
		Args: mustMarshal(t, pm(map[string]any{"command": "echo ran"}))})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustUnmarshal(t, resp.Return)["stdout"].StringValue(); got != "ran" {
		t.Fatalf("got %q", got)
	}
}

func TestProviderRemoteLifecycle(t *testing.T) {
	s := startSSHD(t)
	host := &fakeHost{}
	p := NewProvider(host, nil)
	ctx := context.Background()
	urn := "urn:pulumi:dev::proj::command:remote:Command::r"
	conn := resource.MakeSecret(resource.NewObjectProperty(pm(map[string]any{
		"host": "127.0.0.1", "port": s.Port, "user": s.User, "privateKey": s.ClientKey, "hostKey": s.HostKey,
	})))
	inputs := pm(map[string]any{"create": "cat", "stdin": "plain-in", "environment": map[string]any{"GPM_X": "1"}})
	inputs["connection"] = conn
	chk, err := p.Check(ctx, &pulumirpc.CheckRequest{Urn: urn, News: mustMarshal(t, inputs)})
	if err != nil || len(chk.Failures) > 0 {
		t.Fatalf("check: %v %v", chk.GetFailures(), err)
	}
	created, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: chk.Inputs})
	if err != nil {
		t.Fatal(err)
	}
	st := mustUnmarshal(t, created.Properties)
	if st["stdout"].IsSecret() || st["stdout"].StringValue() != "plain-in" {
		t.Fatalf("stdout %v", st["stdout"])
	}
	if !st["connection"].IsSecret() {
		t.Fatal("connection must stay secret")
	}
	if strings.Contains(host.text(), "PRIVATE KEY") {
		t.Fatal("private key logged")
	}
}
