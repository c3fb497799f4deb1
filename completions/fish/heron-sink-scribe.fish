# fish completion for heron-sink-scribe
function __complete_heron_sink_scribe
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    heron-sink-scribe
end
complete -f -c heron-sink-scribe -a "(__complete_heron_sink_scribe)"
