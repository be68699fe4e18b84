package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// DNSRecord is the Route53 A record clients use (platform aws): after a promotion the agent
// points it at its own host, so clients follow without Pulumi. The instance role may change
// this one name, type A, in this one zone only (components/hosts/aws/profile.ts).
type DNSRecord struct {
	ZoneID  string `json:"zoneId"`
	Name    string `json:"name"`
	TTL     int64  `json:"ttl"`
	Address string `json:"address"` // this host's private address
	// Route53's signing region: us-east-1 in the aws partition (its API is global there).
	Region string `json:"region,omitempty"`
}

func (r DNSRecord) check() error {
	if r.ZoneID == "" || r.Name == "" || r.Address == "" || r.TTL <= 0 {
		return fmt.Errorf("dnsRecord needs zoneId, name, address and a ttl above 0")
	}
	return nil
}

// recordMover makes the one call: an UPSERT of the record, signed with the instance role's
// credentials from IMDSv2 (the SDK's ec2rolecreds; the instance requires session tokens).
type recordMover struct {
	rec    DNSRecord
	client *route53.Client
}

// newRecordMover: optFns point the client elsewhere (tests: an httptest server, other
// credentials); without them it reaches Route53 with the instance role.
func newRecordMover(rec DNSRecord, optFns ...func(*route53.Options)) *recordMover {
	region := rec.Region
	if region == "" {
		region = "us-east-1"
	}
	opts := route53.Options{
		Region:      region,
		Credentials: aws.NewCredentialsCache(ec2rolecreds.New()),
	}
	return &recordMover{rec: rec, client: route53.New(opts, optFns...)}
}

func (m *recordMover) upsert(ctx context.Context) (string, error) {
	out, err := m.client.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(m.rec.ZoneID),
		ChangeBatch: &types.ChangeBatch{
			Comment: aws.String("gpmirror-agent: promoted master"),
			Changes: []types.Change{{
				Action: types.ChangeActionUpsert,
				ResourceRecordSet: &types.ResourceRecordSet{
					Name:            aws.String(m.rec.Name),
					Type:            types.RRTypeA,
					TTL:             aws.Int64(m.rec.TTL),
					ResourceRecords: []types.ResourceRecord{{Value: aws.String(m.rec.Address)}},
				},
			}},
		},
	})
	if err != nil {
		return "", err
	}
	if out.ChangeInfo == nil || out.ChangeInfo.Id == nil {
		return "", nil
	}
	return *out.ChangeInfo.Id, nil
}

// moveRecord retries the UPSERT (the SDK retries throttling and 5xx itself) for up to
// `within`: the database already serves, so a failure here is reported, never fatal;
// `pulumi up` points the record at the key holder too (index.ts).
func (m *recordMover) moveRecord(within time.Duration, pause time.Duration) error {
	deadline := time.Now().Add(within)
	var err error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var id string
		id, err = m.upsert(ctx)
		cancel()
		if err == nil {
			event("dns-moved", map[string]any{"name": m.rec.Name, "address": m.rec.Address, "change": id})
			return nil
		}
		if time.Now().Add(pause).After(deadline) {
			break
		}
		time.Sleep(pause)
	}
	event("dns-move-failed", map[string]any{"name": m.rec.Name, "error": err.Error()})
	return err
}
