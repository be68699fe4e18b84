package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
)

// imdsServer answers as EC2's IMDSv2 does: a session token by PUT first, then the role's
// credentials only to requests that carry it.
func imdsServer(t *testing.T) *httptest.Server {
	t.Helper()
	const token = "imds-session"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/api/token" {
			if r.Method != http.MethodPut || r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") == "" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			_, _ = io.WriteString(w, token)
			return
		}
		if r.Header.Get("X-Aws-Ec2-Metadata-Token") != token {
			w.WriteHeader(http.StatusUnauthorized) // IMDSv1 is off on the instances
			return
		}
		switch r.URL.Path {
		case "/latest/meta-data/iam/security-credentials/":
			_, _ = io.WriteString(w, "gpmirror-unit-role")
		case "/latest/meta-data/iam/security-credentials/gpmirror-unit-role":
			_ = json.NewEncoder(w).Encode(map[string]string{
				"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "ASIAUNITTEST",
				"SecretAccessKey": "unit-secret", "Token": "role-session-token",
				"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			})
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

type seenRequest struct {
	method, path, body string
	header             http.Header
}

// route53Server records each request; fail answers the first n with AccessDenied.
func route53Server(t *testing.T, fail int) (*httptest.Server, func() []seenRequest) {
	t.Helper()
	var mu sync.Mutex
	var seen []seenRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, seenRequest{r.Method, r.URL.Path, string(b), r.Header.Clone()})
		n := len(seen)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		if n <= fail {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `<?xml version="1.0"?><ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized</Message></Error><RequestId>r1</RequestId></ErrorResponse>`)
			return
		}
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeInfo><Id>/change/C0UNIT</Id><Status>PENDING</Status><SubmittedAt>2026-11-30T12:00:00.000Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seenRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]seenRequest(nil), seen...)
	}
}

var unitRecord = DNSRecord{ZoneID: "Z0UNITZONE", Name: "master.gpmirror.internal", TTL: 30, Address: "10.42.2.10"}

// testMover: the agent's own client (instance role from IMDSv2) against the two test servers.
func testMover(imdsURL, route53URL string) *recordMover {
	return newRecordMover(unitRecord, func(o *route53.Options) {
		o.BaseEndpoint = aws.String(route53URL)
		o.Credentials = aws.NewCredentialsCache(ec2rolecreds.New(func(p *ec2rolecreds.Options) {
			p.Client = imds.New(imds.Options{Endpoint: imdsURL})
		}))
		o.RetryMaxAttempts = 1
	})
}

func TestTheAgentUpsertsItsOwnAddressSignedWithTheInstanceRole(t *testing.T) {
	r53, seen := route53Server(t, 0)
	m := testMover(imdsServer(t).URL, r53.URL)
	if err := m.moveRecord(time.Second, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	reqs := seen()
	if len(reqs) != 1 {
		t.Fatalf("want one call, got %d", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || r.path != "/2013-04-01/hostedzone/Z0UNITZONE/rrset" {
		t.Fatalf("want POST /2013-04-01/hostedzone/Z0UNITZONE/rrset, got %s %s", r.method, r.path)
	}
	compact := strings.Join(strings.Fields(r.body), "")
	for _, want := range []string{
		"<Change><Action>UPSERT</Action><ResourceRecordSet>",
		"<Name>master.gpmirror.internal</Name>",
		"<ResourceRecords><ResourceRecord><Value>10.42.2.10</Value></ResourceRecord></ResourceRecords>",
		"<TTL>30</TTL>",
		"<Type>A</Type>",
	} {
		if !strings.Contains(compact, want) {
			t.Errorf("body lacks %s:\n%s", want, r.body)
		}
	}
	if n := strings.Count(compact, "<Change>"); n != 1 {
		t.Errorf("want exactly one change (the one record the role may touch), got %d", n)
	}
	auth := r.header.Get("Authorization")
	day := time.Now().UTC().Format("20060102")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=ASIAUNITTEST/"+day+"/us-east-1/route53/aws4_request, SignedHeaders=") {
		t.Errorf("want SigV4 with the role's key, scope us-east-1/route53, got %q", auth)
	}
	signed := strings.SplitN(strings.SplitN(auth, "SignedHeaders=", 2)[1], ",", 2)[0]
	for _, h := range []string{"host", "x-amz-date", "x-amz-security-token"} {
		if !strings.Contains(";"+signed+";", ";"+h+";") {
			t.Errorf("signed headers %q lack %s", signed, h)
		}
	}
	if got := r.header.Get("X-Amz-Security-Token"); got != "role-session-token" {
		t.Errorf("want the role's session token from IMDSv2, got %q", got)
	}
}

func TestTheMoveIsRetriedUntilRoute53AcceptsIt(t *testing.T) {
	r53, seen := route53Server(t, 2)
	m := testMover(imdsServer(t).URL, r53.URL)
	if err := m.moveRecord(5*time.Second, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if n := len(seen()); n != 3 {
		t.Fatalf("want 2 refused calls and 1 accepted, got %d calls", n)
	}
}

func TestTheMoveGivesUpAfterItsBoundWithTheError(t *testing.T) {
	r53, seen := route53Server(t, 1000)
	m := testMover(imdsServer(t).URL, r53.URL)
	start := time.Now()
	err := m.moveRecord(200*time.Millisecond, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("want AccessDenied, got %v", err)
	}
	if time.Since(start) > 2*time.Second || len(seen()) < 2 {
		t.Fatalf("want a few tries within the bound, got %d in %v", len(seen()), time.Since(start))
	}
}

func TestAnIncompleteRecordIsRefusedAtStart(t *testing.T) {
	dir := t.TempDir()
	cfg := map[string]any{
		"name": "standby", "peer": "primary", "prefix": "/gpmirror/u", "endpoints": []string{"https://10.0.0.1:2379"},
		"pgBin": "/usr/bin", "dataDir": "/d", "socketDir": "/s", "port": 5432, "stateFile": "/s/state.json",
		"leaseTtlSeconds": 8, "renewIntervalMs": 500, "retryWindowMs": 5000,
		"dnsRecord": map[string]any{"zoneId": "Z1", "name": "master.x", "ttl": 30},
	}
	path := filepath.Join(dir, "agent.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(path); err == nil || !strings.Contains(err.Error(), "dnsRecord needs") {
		t.Fatalf("want the dnsRecord refused without an address, got %v", err)
	}
	cfg["dnsRecord"].(map[string]any)["address"] = "10.42.2.10"
	b, _ = json.Marshal(cfg)
	_ = os.WriteFile(path, b, 0o600)
	c, err := loadConfig(path)
	if err != nil || c.DNSRecord == nil || c.DNSRecord.Address != "10.42.2.10" {
		t.Fatalf("want the full record accepted, got %+v, %v", c.DNSRecord, err)
	}
}
