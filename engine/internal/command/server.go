package command

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	pbempty "google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// HostLogger is the part of the engine's host client the provider uses.
type HostLogger interface {
	Log(ctx context.Context, sev diag.Severity, urn resource.URN, msg string) error
}

// Provider implements pulumirpc.ResourceProviderServer for
// command:local:Command, command:remote:Command and command:local:run.
type Provider struct {
	pulumirpc.UnimplementedResourceProviderServer

	mu      sync.Mutex
	host    HostLogger
	connect func(addr string) (HostLogger, error)

	root   context.Context
	cancel context.CancelFunc
	ops    *Ops
}

// NewProvider makes a provider. host may be nil (attach mode); connect is
// used to reach the engine when it announces its address in Handshake or
// Attach.
func NewProvider(host HostLogger, connect func(addr string) (HostLogger, error)) *Provider {
	root, cancel := context.WithCancel(context.Background())
	p := &Provider{host: host, connect: connect, root: root, cancel: cancel}
	p.ops = &Ops{Log: p.log}
	return p
}

func (p *Provider) log(sev diag.Severity, urn resource.URN, msg string) {
	p.mu.Lock()
	host := p.host
	p.mu.Unlock()
	if host == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = host.Log(ctx, sev, urn, msg)
}

func (p *Provider) setEngine(addr string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.host != nil || addr == "" || p.connect == nil {
		return nil
	}
	h, err := p.connect(addr)
	if err != nil {
		return fmt.Errorf("connecting to the engine at %s: %w", addr, err)
	}
	p.host = h
	return nil
}

var unmarshalOpts = plugin.MarshalOptions{
	Label: "command.unmarshal", KeepUnknowns: true, KeepSecrets: true, KeepResources: true,
	SkipNulls: true, SkipInternalKeys: true,
}

var marshalOpts = plugin.MarshalOptions{
	Label: "command.marshal", KeepUnknowns: true, KeepSecrets: true, KeepResources: true,
}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	m, err := plugin.UnmarshalProperties(s, unmarshalOpts)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "reading properties: %v", err)
	}
	return m, nil
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, marshalOpts)
}

// typeOf finds the resource type of a request, from its type field or URN.
func typeOf(typ, urn string) (string, error) {
	if typ == "" && urn != "" {
		u, err := resource.ParseURN(urn)
		if err != nil {
			return "", status.Errorf(codes.InvalidArgument, "bad URN %q: %v", urn, err)
		}
		typ = string(u.Type())
	}
	if inputSpecs(typ) == nil {
		return "", status.Errorf(codes.InvalidArgument,
			"unknown resource type %q: this command provider serves %s and %s", typ, LocalCommandType, RemoteCommandType)
	}
	return typ, nil
}

// opContext bounds one operation by the engine's timeout (seconds, 0 = none),
// by Cancel, and by the request's own context.
func (p *Provider) opContext(reqCtx context.Context, timeout float64) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(p.root)
	stop := context.AfterFunc(reqCtx, cancel)
	if timeout > 0 {
		var cancelT context.CancelFunc
		ctx, cancelT = context.WithTimeout(ctx, time.Duration(timeout*float64(time.Second)))
		inner := cancel
		cancel = func() { cancelT(); inner() }
	}
	return ctx, func() { stop(); cancel() }
}

func (p *Provider) Handshake(_ context.Context, req *pulumirpc.ProviderHandshakeRequest) (*pulumirpc.ProviderHandshakeResponse, error) {
	if err := p.setEngine(req.GetEngineAddress()); err != nil {
		return nil, err
	}
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

func (p *Provider) Attach(_ context.Context, req *pulumirpc.PluginAttach) (*pbempty.Empty, error) {
	return &pbempty.Empty{}, p.setEngine(req.GetAddress())
}

func (p *Provider) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

func (p *Provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: schemaJSON()}, nil
}

// The provider has no configuration of its own.
func (p *Provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *Provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *Provider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

func (p *Provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	typ, err := typeOf(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	for _, f := range validate(news, inputSpecs(typ), "") {
		failures = append(failures, &pulumirpc.CheckFailure{Property: f.Property, Reason: f.Reason})
	}
	inputs, err := marshal(applyDefaults(typ, news))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

func (p *Provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	typ, err := typeOf(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	var olds resource.PropertyMap
	if req.GetOldInputs() != nil {
		olds, err = unmarshal(req.GetOldInputs())
	} else {
		olds, err = unmarshal(req.GetOlds())
	}
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	return diffInputs(typ, inputsOf(typ, olds), news, req.GetIgnoreChanges()), nil
}

func newID(urn string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "command"
	if u, err := resource.ParseURN(urn); err == nil {
		name = u.Name()
	}
	return name + "-" + hex.EncodeToString(b)
}

func (p *Provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	typ, err := typeOf(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	inputs, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	opCtx, cancel := p.opContext(ctx, req.GetTimeout())
	defer cancel()
	state, err := p.ops.Create(opCtx, typ, resource.URN(req.GetUrn()), inputs, req.GetPreview())
	if err != nil {
		return nil, err
	}
	props, err := marshal(state)
	if err != nil {
		return nil, err
	}
	id := ""
	if !req.GetPreview() {
		id = newID(req.GetUrn())
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func (p *Provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	// A command's state cannot be read back from anywhere: keep it as it is.
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (p *Provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	typ, err := typeOf(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	opCtx, cancel := p.opContext(ctx, req.GetTimeout())
	defer cancel()
	state, err := p.ops.Update(opCtx, typ, resource.URN(req.GetUrn()), olds, news, req.GetPreview())
	if err != nil {
		return nil, err
	}
	props, err := marshal(state)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *Provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*pbempty.Empty, error) {
	typ, err := typeOf(req.GetType(), req.GetUrn())
	if err != nil {
		return nil, err
	}
	state, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	opCtx, cancel := p.opContext(ctx, req.GetTimeout())
	defer cancel()
	if err := p.ops.Delete(opCtx, typ, resource.URN(req.GetUrn()), state); err != nil {
		return nil, err
	}
	return &pbempty.Empty{}, nil
}

func (p *Provider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	if req.GetTok() != LocalRunFunction {
		return nil, status.Errorf(codes.Unimplemented, "unknown function %q: this command provider serves %s",
			req.GetTok(), LocalRunFunction)
	}
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	for _, f := range validate(args, localRunInputs, "") {
		failures = append(failures, &pulumirpc.CheckFailure{Property: f.Property, Reason: f.Reason})
	}
	if len(failures) > 0 {
		return &pulumirpc.InvokeResponse{Failures: failures}, nil
	}
	opCtx, cancel := p.opContext(ctx, 0)
	defer cancel()
	out, err := p.ops.Run(opCtx, args)
	if err != nil {
		return nil, err
	}
	ret, err := marshal(out)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}

// Cancel stops every running command; operations started afterwards fail.
func (p *Provider) Cancel(context.Context, *pbempty.Empty) (*pbempty.Empty, error) {
	p.cancel()
	return &pbempty.Empty{}, nil
}

func (p *Provider) GetMapping(context.Context, *pulumirpc.GetMappingRequest) (*pulumirpc.GetMappingResponse, error) {
	return &pulumirpc.GetMappingResponse{}, nil
}

func (p *Provider) GetMappings(context.Context, *pulumirpc.GetMappingsRequest) (*pulumirpc.GetMappingsResponse, error) {
	return &pulumirpc.GetMappingsResponse{}, nil
}
