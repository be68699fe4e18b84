package command

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func failureText(fs []failure) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.Property + ": " + f.Reason + "\n")
	}
	return b.String()
}

func TestValidateAcceptsGoodInputs(t *testing.T) {
	in := pm(map[string]any{
		"create": "x", "environment": map[string]any{"A": "b"}, "logging": "none", "addPreviousOutputInEnv": false,
		"interpreter": []any{"/bin/bash", "-c"}, "triggers": []any{1, "a", map[string]any{"k": true}}, "dir": "/tmp",
	})
	in["stdin"] = resource.MakeSecret(resource.NewStringProperty("s"))
	in["update"] = resource.MakeComputed(resource.NewStringProperty(""))
	if fs := validate(in, inputSpecs(LocalCommandType), ""); len(fs) != 0 {
		t.Fatal(failureText(fs))
	}
	remote := pm(map[string]any{"create": "x"})
	remote["connection"] = resource.MakeSecret(resource.NewObjectProperty(pm(map[string]any{
		"host": "h", "port": 2222, "proxy": map[string]any{"host": "j"},
	})))
	if fs := validate(remote, inputSpecs(RemoteCommandType), ""); len(fs) != 0 {
		t.Fatal(failureText(fs))
	}
}

func TestValidateRejectsBadInputs(t *testing.T) {
	cases := map[string]struct {
		typ  string
		in   map[string]any
		want string
	}{
		"type":        {LocalCommandType, map[string]any{"create": 3}, `"create" must be a string`},
		"enum":        {LocalCommandType, map[string]any{"logging": "loud"}, `"logging" must be one of`},
		"unknown":     {LocalCommandType, map[string]any{"crate": "x"}, `unknown property "crate"`},
		"env value":   {LocalCommandType, map[string]any{"environment": map[string]any{"A": 1}}, `"environment.A" must be a string`},
		"unsupported": {LocalCommandType, map[string]any{"assetPaths": []any{"*"}}, "not supported"},
		"no conn":     {RemoteCommandType, map[string]any{"create": "x"}, `missing required property "connection"`},
		"no host":     {RemoteCommandType, map[string]any{"connection": map[string]any{"port": 22}}, `"connection.host"`},
		"port":        {RemoteCommandType, map[string]any{"connection": map[string]any{"host": "h", "port": 2.5}}, "whole number"},
		"proxy field": {RemoteCommandType, map[string]any{"connection": map[string]any{"host": "h", "proxy": map[string]any{"host": "j", "proxy": map[string]any{}}}}, `"connection.proxy.proxy"`},
		"dir remote":  {RemoteCommandType, map[string]any{"connection": map[string]any{"host": "h"}, "dir": "/"}, `unknown property "dir"`},
	}
	for name, tc := range cases {
		fs := validate(pm(tc.in), inputSpecs(tc.typ), "")
		if !strings.Contains(failureText(fs), tc.want) {
			t.Errorf("%s: want %q in %q", name, tc.want, failureText(fs))
		}
	}
}

func TestApplyDefaultsKeepsSecretConnection(t *testing.T) {
	in := resource.PropertyMap{"connection": resource.MakeSecret(resource.NewObjectProperty(pm(map[string]any{
		"host": "h", "port": 2222, "proxy": map[string]any{"host": "j"},
	})))}
	out := applyDefaults(RemoteCommandType, in)
	c := out["connection"]
	if !c.IsSecret() {
		t.Fatal("connection lost its secretness")
	}
	obj := c.SecretValue().Element.ObjectValue()
	if obj["port"].NumberValue() != 2222 || obj["user"].StringValue() != "root" || obj["dialErrorLimit"].NumberValue() != 10 ||
		obj["perDialTimeout"].NumberValue() != 15 {
		t.Fatalf("defaults wrong: %v", obj)
	}
	proxy := obj["proxy"].ObjectValue()
	if proxy["port"].NumberValue() != 22 || proxy["user"].StringValue() != "root" {
		t.Fatalf("proxy defaults wrong: %v", proxy)
	}
	// The input map itself is untouched.
	if _, ok := in["connection"].SecretValue().Element.ObjectValue()["user"]; ok {
		t.Fatal("applyDefaults changed its input")
	}
}

func TestDecodeInputsDefaultsAndSecrets(t *testing.T) {
	in := pm(map[string]any{"create": "c"})
	in["environment"] = resource.NewObjectProperty(resource.PropertyMap{
		"K": resource.MakeSecret(resource.NewStringProperty("v")),
	})
	got, err := decodeInputs(LocalCommandType, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Logging != LogStdoutAndStderr || !got.AddPreviousOutputInEnv || strings.Join(got.Interpreter, " ") != "/bin/sh -c" ||
		got.Environment["K"] != "v" || *got.Create != "c" {
		t.Fatalf("got %+v", got)
	}
	if !outputIsSecret(in) {
		t.Fatal("secret environment value must make the output secret")
	}
	if outputIsSecret(pm(map[string]any{"create": "c"})) {
		t.Fatal("plain inputs made the output secret")
	}
	conn := resource.PropertyMap{"connection": resource.MakeSecret(resource.NewObjectProperty(pm(map[string]any{"host": "h"})))}
	if outputIsSecret(conn) {
		t.Fatal("the SDK's secret connection alone must not make the output secret")
	}
	r, err := decodeInputs(RemoteCommandType, conn)
	if err != nil || r.Connection.Host != "h" || r.Connection.Port != 22 || r.Connection.User != "root" {
		t.Fatalf("got %+v, %v", r.Connection, err)
	}
	unknown := resource.PropertyMap{"create": resource.MakeComputed(resource.NewStringProperty(""))}
	if _, err := decodeInputs(LocalCommandType, unknown); err == nil || !strings.Contains(err.Error(), "not known") {
		t.Fatalf("want an unknown-value error, got %v", err)
	}
}
