# fish completion for heron-sink-graphite
function __complete_heron_sink_graphite
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    heron-sink-graphite
end
complete -f -c heron-sink-graphite -a "(__complete_heron_sink_graphite)"
