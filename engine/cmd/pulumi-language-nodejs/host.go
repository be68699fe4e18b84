package main

import (
	"context"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// hostVersion is reported by GetPluginInfo. It is the version of the Pulumi SDK whose gRPC
// interface this host implements (the CLI is built from the same release).
const hostVersion = "3.274.1"

// host implements pulumirpc.LanguageRuntimeServer. RPCs the engine does not need for
// preview/up/destroy/refresh (code generation, packing, linking, RunPlugin, ...) fall through to
// the embedded Unimplemented server, which answers codes.Unimplemented; the engine treats that
// as "not supported by this language".
type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	// ctx is cancelled when the engine goes away; running node programs are killed with it.
	ctx      context.Context
	tracing  string
	defaults runtimeDefaults

	mu            sync.Mutex
	engineAddress string // from argv, or from Handshake when the engine attaches to us
}

func newHost(ctx context.Context, engineAddress, tracing string, defaults runtimeDefaults) *host {
	return &host{ctx: ctx, engineAddress: engineAddress, tracing: tracing, defaults: defaults}
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

// Handshake is only sent when the engine attaches to an already-running host
// (PULUMI_DEBUG_LANGUAGES); a launched host gets the engine address as its last argument.
func (h *host) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if addr := req.GetEngineAddress(); addr != "" {
		h.mu.Lock()
		h.engineAddress = addr
		h.mu.Unlock()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: hostVersion}, nil
}

func (h *host) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	info := req.GetInfo()
	pkgs, err := requiredPackages(info.GetProgramDirectory(), info.GetRootDirectory())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

//nolint:staticcheck // deprecated RPC, still called by older engines
func (h *host) GetRequiredPlugins(
	_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	programDir := req.GetInfo().GetProgramDirectory()
	if programDir == "" {
		programDir = req.GetPwd()
	}
	plugins, err := requiredPlugins(programDir, req.GetInfo().GetRootDirectory())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// RuntimeOptionsPrompts: `pulumi new` may ask; a Node.js project here needs no extra choices.
func (h *host) RuntimeOptionsPrompts(
	context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

// Cancel is sent by the engine before it shuts us down; Run children are stopped through ctx
// when the process exits, so there is nothing to do beyond acknowledging.
func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
