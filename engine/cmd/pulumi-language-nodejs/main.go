// Command pulumi-language-nodejs is gpmirror's own Node.js language host for the Pulumi engine.
//
// Why it exists: this machine builds the Pulumi CLI from the Go module proxy, but the proxy
// refuses the upstream module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
// at every version. The engine cannot run a Node.js program without a language host, so this
// one is written from scratch against the public gRPC interface (pulumirpc.LanguageRuntimeServer
// in github.com/pulumi/pulumi/sdk/v3) and the program runner shipped in the npm package
// @pulumi/pulumi (cmd/run).
//
// Launch protocol (see sdk/v3 go/common/resource/plugin/plugin.go and langruntime_plugin.go):
// the engine finds "pulumi-language-nodejs" on PATH, starts it with
//
//	[--logtostderr] [-v=N] [--tracing URL] ENGINE_ADDRESS
//
// (the engine address is always the last, positional argument), reads one line from our stdout
// holding the TCP port we serve gRPC on, then dials it. Everything we (and the node child) print
// to stdout afterwards is shown to the user as program output.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// healthcheckInterval is how often we ask the engine whether it is still alive. The engine kills
// us itself on a clean shutdown; the check only matters when the engine dies abruptly, so that
// we (and any node program we started) do not linger as orphans.
const healthcheckInterval = 10 * time.Second

func main() {
	// -v and -logtostderr are registered on the global flag set by glog, which the sdk's logging
	// package imports, so flag.Parse understands the logging flags the engine forwards.
	tracing := flag.String("tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	root := flag.String("root", "", "Project root path to use (accepted for compatibility; ProgramInfo carries it)")
	typescript := flag.Bool("typescript", true, "Run the program with ts-node (overridden by runtime option 'typescript')")
	tsconfig := flag.String("tsconfig", "", "Path to tsconfig.json (overridden by runtime option 'tsconfig')")
	nodeargs := flag.String("nodeargs", "", "Extra arguments to node (overridden by runtime option 'nodeargs')")
	packagemanager := flag.String("packagemanager", "", "Package manager for InstallDependencies (npm by default)")
	flag.Parse()
	_ = root

	logging.InitLogging(false, 0, false)
	cmdutil.InitTracing("pulumi-language-nodejs", "pulumi-language-nodejs", *tracing)

	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[len(args)-1]
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, healthcheckInterval, cancel); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
	}

	host := newHost(ctx, engineAddress, *tracing, runtimeDefaults{
		TypeScript:     *typescript,
		TSConfig:       *tsconfig,
		NodeArgs:       *nodeargs,
		PackageManager: *packagemanager,
	})

	// Closing cancelServer makes rpcutil stop the gRPC server gracefully.
	cancelServer := make(chan bool)
	go func() {
		<-ctx.Done()
		close(cancelServer)
	}()

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelServer,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.TracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}

	// The port handshake: the engine reads exactly this first line from stdout.
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
	os.Exit(0)
}
