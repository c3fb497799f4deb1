# fish completion for heron-sink-prometheus
function __complete_heron_sink_prometheus
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    heron-sink-prometheus
end
complete -f -c heron-sink-prometheus -a "(__complete_heron_sink_prometheus)"
