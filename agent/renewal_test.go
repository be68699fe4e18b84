package main

import (
	"context"
	"errors"
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

// A write refused for want of a leader is sent again until the context ends; any other
// answer ends it.
func TestWritesAreSentAgainOnlyWhenNoLeaderRefusedThem(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	tries := 0
	err := untilLeaderAnswers(ctx, func() error {
		tries++
		if tries < 3 {
			return rpctypes.ErrNoLeader
		}
		return nil
	})
	if err != nil || tries != 3 {
		t.Fatalf("refused twice then accepted: got %v after %d tries", err, tries)
	}
	tries = 0
	err = untilLeaderAnswers(ctx, func() error { tries++; return rpctypes.ErrLeaseNotFound })
	if !errors.Is(err, rpctypes.ErrLeaseNotFound) || tries != 1 {
		t.Fatalf("another error must end it at once: got %v after %d tries", err, tries)
	}
	short, stop := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer stop()
	err = untilLeaderAnswers(short, func() error { return rpctypes.ErrNoLeader })
	if !errors.Is(err, rpctypes.ErrNoLeader) || short.Err() == nil {
		t.Fatalf("it must end with the context: got %v", err)
	}
}
