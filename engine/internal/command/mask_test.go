package command

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestSecretMask(t *testing.T) {
	props := pm(map[string]any{"create": "echo hi", "environment": map[string]any{"PLAIN": "visible-value"}})
	props["stdin"] = resource.MakeSecret(resource.NewStringProperty("line-one\nline-two\nab\n"))
	props["connection"] = resource.NewObjectProperty(pm(map[string]any{"host": "h", "password": "pw-123",
		"proxy": map[string]any{"host": "j", "privateKeyPassword": "proxy-pass"}}))
	m := newSecretMask(props)
	got := m.apply("x line-one y line-two z ab visible-value pw-123 proxy-pass")
	want := "x [secret] y [secret] z ab visible-value [secret] [secret]"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestFailedCommandErrorIsMasked(t *testing.T) {
	o := &Ops{}
	props := pm(map[string]any{"create": "cat >&2; exit 2"})
	props["stdin"] = resource.MakeSecret(resource.NewStringProperty("s3cr3t-value"))
	_, err := o.Create(context.Background(), LocalCommandType, localURN, props, false)
	if err == nil || strings.Contains(err.Error(), "s3cr3t-value") || !strings.Contains(err.Error(), "[secret]") {
		t.Fatalf("got %v", err)
	}
}
