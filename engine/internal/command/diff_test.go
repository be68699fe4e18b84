package command

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func pm(m map[string]any) resource.PropertyMap { return resource.NewPropertyMapFromMap(m) }

func TestDiffEqualInputsIsNoChange(t *testing.T) {
	in := pm(map[string]any{"create": "echo hi", "environment": map[string]any{"A": "1"}, "triggers": []any{"x", 1}})
	d := diffInputs(LocalCommandType, in, in.Copy(), nil)
	if d.Changes != pulumirpc.DiffResponse_DIFF_NONE || len(d.DetailedDiff) != 0 || len(d.Replaces) != 0 {
		t.Fatalf("want no change, got %v", d)
	}
}

func TestDiffIgnoresSecretnessAndOutputs(t *testing.T) {
	old := pm(map[string]any{"create": "echo hi", "stdin": "s", "stdout": "hi", "stderr": ""})
	news := pm(map[string]any{"create": "echo hi"})
	news["stdin"] = resource.MakeSecret(resource.NewStringProperty("s"))
	d := diffInputs(LocalCommandType, inputsOf(LocalCommandType, old), news, nil)
	if d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("want no change, got %v", d)
	}
}

func TestDiffCommandChangeIsUpdate(t *testing.T) {
	old := pm(map[string]any{"create": "echo 1", "delete": "rm x"})
	news := pm(map[string]any{"create": "echo 2", "stdin": "new"})
	d := diffInputs(RemoteCommandType, old, news, nil)
	if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 || d.DeleteBeforeReplace {
		t.Fatalf("want an in-place update, got %v", d)
	}
	want := map[string]pulumirpc.PropertyDiff_Kind{
		"create": pulumirpc.PropertyDiff_UPDATE, "stdin": pulumirpc.PropertyDiff_ADD, "delete": pulumirpc.PropertyDiff_DELETE,
	}
	for k, kind := range want {
		if d.DetailedDiff[k] == nil || d.DetailedDiff[k].Kind != kind || !d.DetailedDiff[k].InputDiff {
			t.Fatalf("%s: got %v", k, d.DetailedDiff[k])
		}
	}
	if len(d.DetailedDiff) != 3 {
		t.Fatalf("extra diffs: %v", d.DetailedDiff)
	}
}

func TestDiffTriggersReplace(t *testing.T) {
	old := pm(map[string]any{"create": "c", "triggers": []any{"a"}})
	news := pm(map[string]any{"create": "c", "triggers": []any{"b"}})
	d := diffInputs(LocalCommandType, old, news, nil)
	if len(d.Replaces) != 1 || d.Replaces[0] != "triggers" || d.DetailedDiff["triggers"].Kind != pulumirpc.PropertyDiff_UPDATE_REPLACE {
		t.Fatalf("want replace on triggers, got %v", d)
	}
	if d.DeleteBeforeReplace {
		t.Fatal("delete before replace")
	}
}

func TestDiffUnknownIsChange(t *testing.T) {
	old := pm(map[string]any{"create": "c"})
	news := pm(map[string]any{})
	news["create"] = resource.MakeComputed(resource.NewStringProperty(""))
	d := diffInputs(LocalCommandType, old, news, nil)
	if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || d.DetailedDiff["create"].Kind != pulumirpc.PropertyDiff_UPDATE {
		t.Fatalf("got %v", d)
	}
}

func TestDiffConnectionChangeIsUpdateAndIgnoreChanges(t *testing.T) {
	conn := func(host string) resource.PropertyValue {
		return resource.MakeSecret(resource.NewObjectProperty(pm(map[string]any{"host": host, "port": 22})))
	}
	old := resource.PropertyMap{"connection": conn("a")}
	news := resource.PropertyMap{"connection": conn("b")}
	d := diffInputs(RemoteCommandType, old, news, nil)
	if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 {
		t.Fatalf("got %v", d)
	}
	d = diffInputs(RemoteCommandType, old, news, []string{"connection"})
	if d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("ignoreChanges not honoured: %v", d)
	}
}
