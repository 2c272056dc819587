// Package sluice is a small worker for the Sluice HTTP consume API: claim -> handle ->
// complete/fail, with heartbeats and graceful stop. Standard library only; copy it.
//
//	c := sluice.New("http://127.0.0.1:8080", "emails", os.Getenv("SLUICE_TOKEN"))
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	err := c.Run(ctx, 4, func(ctx context.Context, job sluice.Job) (any, error) {
//		return map[string]bool{"sent": true}, nil
//	})
package sluice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"
)

// Job is one claimed job.
type Job struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Payload       json.RawMessage `json:"payload"`
	Attempt       int             `json:"attempt"`
	MaxAttempts   int             `json:"maxAttempts"`
	Token         string          `json:"token"`
	LeaseDeadline int64           `json:"leaseDeadline"`
	TimeoutMs     int64           `json:"timeoutMs"`
	Traceparent   string          `json:"traceparent"`
}

// Handler does a job's work; its result is stored as the job's result.
type Handler func(ctx context.Context, job Job) (any, error)

// ErrStale is returned when the claim no longer owns its job (409): nothing was changed.
var ErrStale = errors.New("sluice: claim no longer owns its job")

// Unrecoverable wraps an error so the job is dead-lettered without further attempts.
func Unrecoverable(err error) error { return unrecoverable{err} }

type unrecoverable struct{ error }

func (u unrecoverable) Unwrap() error { return u.error }

// Client talks to the consume API of one queue.
type Client struct {
	base     string
	token    string
	Consumer string        // recorded in the job's events; default go-<host>-<pid>
	Wait     time.Duration // long poll of each claim; default 5s
	HTTP     *http.Client
}

// New returns a client for queue on the service at baseURL (token may be empty without auth).
func New(baseURL, queue, token string) *Client {
	host, _ := os.Hostname()
	return &Client{
		base:     fmt.Sprintf("%s/v1/queues/%s/claims", baseURL, url.PathEscape(queue)),
		token:    token,
		Consumer: fmt.Sprintf("go-%s-%d", host, os.Getpid()),
		Wait:     5 * time.Second,
		HTTP:     &http.Client{Timeout: 45 * time.Second},
	}
}

func (c *Client) post(ctx context.Context, path string, body, out any) error {
	var reader *bytes.Reader
	if body == nil {
		reader = bytes.NewReader(nil)
	} else {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, reader)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusConflict {
		return ErrStale
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.NewDecoder(res.Body).Decode(&e)
		return fmt.Errorf("sluice: HTTP %d %s: %s", res.StatusCode, e.Error.Code, e.Error.Message)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(res.Body).Decode(out)
}

// Claim takes up to max jobs, waiting up to c.Wait for one. It also returns the lease.
func (c *Client) Claim(ctx context.Context, max int) ([]Job, time.Duration, error) {
	var reply struct {
		Jobs    []Job `json:"jobs"`
		LeaseMs int64 `json:"leaseMs"`
	}
	body := map[string]any{"consumer": c.Consumer, "max": max, "waitMs": c.Wait.Milliseconds()}
	err := c.post(ctx, "", body, &reply)
	return reply.Jobs, time.Duration(reply.LeaseMs) * time.Millisecond, err
}

// Heartbeat extends the lease of a claim.
func (c *Client) Heartbeat(ctx context.Context, token string) error {
	return c.post(ctx, "/"+token+"/heartbeat", nil, nil)
}

// Complete records success with an optional result (nil for none).
func (c *Client) Complete(ctx context.Context, token string, result any) error {
	body := map[string]any{}
	if result != nil {
		body["result"] = result
	}
	return c.post(ctx, "/"+token+"/complete", body, nil)
}

// Fail records a failed attempt; retried by the job's backoff unless err is Unrecoverable.
func (c *Client) Fail(ctx context.Context, token string, err error) error {
	var u unrecoverable
	body := map[string]any{"error": map[string]string{"name": fmt.Sprintf("%T", err), "message": err.Error()}, "retryable": !errors.As(err, &u)}
	return c.post(ctx, "/"+token+"/fail", body, nil)
}

// Release gives the job back for immediate redelivery (the attempt does not count).
func (c *Client) Release(ctx context.Context, token string) error {
	return c.post(ctx, "/"+token+"/release", nil, nil)
}

// Run runs handler on concurrency goroutines until ctx is cancelled; running jobs and claims
// in flight finish first (within c.Wait), and handlers' contexts are not cancelled by the stop.
func (c *Client) Run(ctx context.Context, concurrency int, handler Handler) error {
	var wg sync.WaitGroup
	for i := 0; i < concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				// Not cancelled by ctx: a claim cut off mid-answer would leave its job to the lease.
				jobs, lease, err := c.Claim(context.Background(), 1)
				if err != nil {
					if ctx.Err() == nil {
						log.Printf("sluice: claim: %v", err)
						time.Sleep(time.Second)
					}
					continue
				}
				for _, job := range jobs {
					c.handle(job, lease, handler)
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

func (c *Client) handle(job Job, lease time.Duration, handler Handler) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // heartbeats until the outcome is recorded
		ticker := time.NewTicker(lease / 3)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				if err := c.Heartbeat(ctx, job.Token); errors.Is(err, ErrStale) {
					cancel() // the lease is lost: tell the handler
					return
				}
			}
		}
	}()
	result, err := handler(ctx, job)
	if err != nil {
		err = c.Fail(context.Background(), job.Token, err)
	} else {
		err = c.Complete(context.Background(), job.Token, result)
	}
	if err != nil {
		log.Printf("sluice: job %s: outcome not recorded: %v", job.ID, err)
	}
}
