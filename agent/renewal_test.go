package main

import (
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/metadata"
)

// Every exchange with etcd asks for a member that has a leader, so that a leaderless member
// fails it at once and the client retries on another one within the renewal's time.
func TestEtcdExchangesRequireALeader(t *testing.T) {
	ctx, cancel := leaderCtx(time.Second)
	defer cancel()
	md, ok := metadata.FromOutgoingContext(ctx)
	if !ok || len(md.Get(rpctypes.MetadataRequireLeaderKey)) != 1 || md.Get(rpctypes.MetadataRequireLeaderKey)[0] != rpctypes.MetadataHasLeader {
		t.Fatalf("the context does not require a leader: %v", md)
	}
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > time.Second {
		t.Fatalf("the context is not bounded by the timeout")
	}
}
