package tmanager

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/apipb"
)

// Heron's reserved component name for topology-level runtime config and the
// suffix runtime values carry in the config.
const (
	topologyConfigKey = "_topology_"
	runtimeSuffix     = ":runtime"
)

// ControllerHandler serves Heron's controller endpoints: /activate,
// /deactivate, /runtime_config/update and /get_current_physical_plan, with
// Heron's status codes and texts.
func (t *TManager) ControllerHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/activate", func(w http.ResponseWriter, r *http.Request) {
		t.changeState(w, r, apipb.TopologyState_PAUSED, apipb.TopologyState_RUNNING, "Topology successfully activated")
	})
	mux.HandleFunc("/deactivate", func(w http.ResponseWriter, r *http.Request) {
		t.changeState(w, r, apipb.TopologyState_RUNNING, apipb.TopologyState_PAUSED, "Topology successfully deactivated")
	})
	mux.HandleFunc("/runtime_config/update", t.updateRuntimeConfig)
	mux.HandleFunc("/get_current_physical_plan", t.currentPlan)
	mux.HandleFunc("/clean_all_stateful_checkpoints", func(w http.ResponseWriter, r *http.Request) {
		if t.validate(w, r) {
			http.Error(w, "stateful checkpoints do not exist in the native runtime", http.StatusBadRequest)
		}
	})
	return mux
}

// validate applies Heron's checks: the topology id must match and the
// physical plan must exist.
func (t *TManager) validate(w http.ResponseWriter, r *http.Request) bool {
	id := r.URL.Query().Get("topologyid")
	switch {
	case id == "":
		http.Error(w, "Missing 'topologyid' argument in the request", http.StatusBadRequest)
		return false
	case id != t.topology.GetId():
		http.Error(w, "Topology id does not match", http.StatusBadRequest)
		return false
	}
	t.mu.Lock()
	ready := t.pplan != nil
	t.mu.Unlock()
	if !ready {
		http.Error(w, "Tmanager still not initialized (physical plan is not available)", http.StatusInternalServerError)
		return false
	}
	return true
}

func (t *TManager) changeState(w http.ResponseWriter, r *http.Request, from, to apipb.TopologyState, ok string) {
	if !t.validate(w, r) {
		return
	}
	t.mu.Lock()
	if t.topology.GetState() != from {
		t.mu.Unlock()
		http.Error(w, "Topology not in "+strings.ToLower(from.String())+" state", http.StatusBadRequest)
		return
	}
	t.topology.State = to.Enum()
	t.rebuildLocked(context.Background())
	t.mu.Unlock()
	t.log.Info().Str("state", to.String()).Msg(ok)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(ok))
}

func (t *TManager) updateRuntimeConfig(w http.ResponseWriter, r *http.Request) {
	if !t.validate(w, r) {
		return
	}
	params := r.URL.Query()["runtime-config"]
	if len(params) == 0 {
		http.Error(w, "No runtime config is found. Usage: runtime-config=[COMPONENT:]<CONFIG>:<VALUE>.", http.StatusBadRequest)
		return
	}
	conf := map[string]map[string]string{}
	for _, p := range params {
		seg := strings.Split(p, ":")
		switch len(seg) {
		case 2:
			if conf[topologyConfigKey] == nil {
				conf[topologyConfigKey] = map[string]string{}
			}
			conf[topologyConfigKey][seg[0]] = seg[1]
		case 3:
			if conf[seg[0]] == nil {
				conf[seg[0]] = map[string]string{}
			}
			conf[seg[0]][seg[1]] = seg[2]
		default:
			http.Error(w, "Failed to parse runtime configs. Possibly bad format. The expected format is [COMPONENT:]<CONFIG>:<VALUE>.", http.StatusBadRequest)
			return
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	comps := map[string]*apipb.Config{}
	for _, s := range t.topology.GetSpouts() {
		comps[s.GetComp().GetName()] = s.GetComp().GetConfig()
	}
	for _, b := range t.topology.GetBolts() {
		comps[b.GetComp().GetName()] = b.GetComp().GetConfig()
	}
	for c := range conf {
		if c != topologyConfigKey && comps[c] == nil {
			http.Error(w, "Failed to validate runtime configs", http.StatusBadRequest)
			return
		}
	}
	for c, kv := range conf {
		var cfg *apipb.Config
		if c == topologyConfigKey {
			if t.topology.TopologyConfig == nil {
				t.topology.TopologyConfig = &apipb.Config{}
			}
			cfg = t.topology.TopologyConfig
		} else {
			cfg = comps[c]
		}
		for k, v := range kv {
			setConfig(cfg, k+runtimeSuffix, v)
		}
	}
	t.rebuildLocked(context.Background())
	t.log.Info().Strs("runtime_config", params).Msg("Runtime config updated")
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("Runtime config updated"))
}

func setConfig(c *apipb.Config, key, value string) {
	for _, kv := range c.GetKvs() {
		if kv.GetKey() == key {
			kv.Value = proto.String(value)
			kv.SerializedValue = nil
			kv.Type = apipb.ConfigValueType_STRING_VALUE.Enum()
			return
		}
	}
	c.Kvs = append(c.Kvs, &apipb.Config_KeyValue{Key: proto.String(key), Value: proto.String(value),
		Type: apipb.ConfigValueType_STRING_VALUE.Enum()})
}

func (t *TManager) currentPlan(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	pp := t.pplan
	complete := t.complete()
	t.mu.Unlock()
	if pp == nil || !complete {
		http.Error(w, "", http.StatusBadRequest)
		return
	}
	b, err := proto.Marshal(pp)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(base64.StdEncoding.EncodeToString(b)))
}
