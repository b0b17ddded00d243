package report

import (
	"slices"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// Names are the rows a report lists even when empty, in the order the
// configuration gives them: the qualified step names of every sequence
// (the default's, then each segment's as "segment/step") and the segment
// names, over the playbooks of every store (Query.Steps, Query.Segments).
func Names(pbs ...recovery.Playbook) (steps, segments []string) {
	for _, pb := range pbs {
		for _, s := range pb.Steps {
			if !slices.Contains(steps, s.Name) {
				steps = append(steps, s.Name)
			}
		}
		for _, sg := range pb.Segments {
			if !slices.Contains(segments, sg.Name) {
				segments = append(segments, sg.Name)
			}
			for _, s := range sg.Steps {
				if q := recovery.QualifiedStep(sg.Name, s.Name); !slices.Contains(steps, q) {
					steps = append(steps, q)
				}
			}
		}
	}
	return steps, segments
}
