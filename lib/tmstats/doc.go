// Package tmstats is the topology manager's metric and exception store and
// the stats protocol it serves to heron-tracker: Heron's TMetricsCollector
// with the same semantics, so that a tracker cannot tell it from Heron's
// C++ topology manager.
//
// # Store
//
// A Store keeps, per (component, instance, metric name), 180 buckets of 60
// seconds (heron.tmanager.metrics.collector.maximum.interval.min and
// .purge.interval.sec), newest first, plus an all-time total. Buckets are
// Heron's: a new metric gets all its buckets stamped with its creation
// second, and every purge interval after the store was created each metric
// drops its oldest bucket and gains a new one starting at that purge time,
// so bucket starts are not minute-aligned. Purges are applied lazily from
// the clock on every call, which gives the same buckets as Heron's timer
// without a goroutine.
//
// Each metric name gets an aggregation type from the metrics-sinks config
// (tmanager-sink → tmanager-metrics-type): the first key, in sorted order,
// that is a prefix of the name. SUM adds the values of a bucket, AVG
// averages them, LAST keeps the newest. A name that matches no key is
// dropped (Heron stores it and aborts when it is queried).
//
// Exceptions are kept per instance, the newest 256, oldest first; the
// summary groups them by class name (the stack trace up to its first ':').
//
// Feeding it (the executor's topology-manager role):
//
//	st := tmstats.New(tmstats.Options{Types: types})   // types: TypesFromSinks or DefaultTypes
//	st.SetComponents(componentNames)                   // from the topology, for Heron's error texts
//	st.Add("split", "container_1_split_3", "__emit-count/default", "12", time.Now())
//	st.AddException(&tmanagerpb.TmanagerExceptionLog{...})
//	st.Publish(publishMetrics)                          // a whole tmanagerpb.PublishMetrics
//
// # Protocol
//
// Handler serves the stats port: HTTP POST with a serialized protobuf body
// and a serialized protobuf answer (application/octet-stream), exactly as
// Heron's topology manager does:
//
//	/stats                       MetricRequest → MetricResponse
//	/exceptions                  ExceptionLogRequest → ExceptionLogResponse
//	/exceptionsummary            ExceptionLogRequest → ExceptionLogResponse (by class)
//	/stmgrsregistrationsummary   StmgrsRegistrationSummaryRequest → ...Response
//
// A body that does not parse, or an unknown path, gets 400. Errors inside
// the protocol (unknown component, no interval) are NOTOK statuses in a 200
// answer, as in Heron. Client is the other side, used by heron-tracker.
package tmstats
