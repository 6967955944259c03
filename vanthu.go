// Package vanthu holds the domain of the vanthu service: units, users and
// roles, documents, dispatches and their milestones, audit events, and the
// error codes every layer shares. It imports nothing but the standard
// library, so every other package can depend on it and it depends on none.
//
// vanthu (văn thư) is the clerical office of a Vietnamese agency: it drafts,
// numbers, issues and tracks official documents. This service does that for a
// provincial Department of Home Affairs (Sở Nội vụ) enforcing administrative
// discipline.
package vanthu

import "time"

// Version is the build version, overridden at link time with
// -ldflags "-X github.com/sonoivu/vanthu.Version=…".
var Version = "dev"

// Location is the time zone of every date shown to users and printed in
// documents (Asia/Ho_Chi_Minh, +07:00, no daylight saving). It is a fixed
// zone so that machines without tzdata still print the right date.
var Location = time.FixedZone("ICT", 7*60*60)
