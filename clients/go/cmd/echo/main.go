// Command echo is a demo worker: each job's payload becomes its result.
//
//	SLUICE_URL=http://127.0.0.1:8080 SLUICE_QUEUE=emails SLUICE_TOKEN=... go run ./cmd/echo
package main

import (
	"context"
	"encoding/json"
	"log"
	"os"
	"os/signal"
	"syscall"

	sluice "example.com/sluice"
)

func main() {
	c := sluice.New(os.Getenv("SLUICE_URL"), os.Getenv("SLUICE_QUEUE"), os.Getenv("SLUICE_TOKEN"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.Run(ctx, 4, func(ctx context.Context, job sluice.Job) (any, error) {
		return map[string]json.RawMessage{"echo": job.Payload}, nil
	})
	if err != nil {
		log.Fatal(err)
	}
}
