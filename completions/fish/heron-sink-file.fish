# fish completion for heron-sink-file
function __complete_heron_sink_file
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    heron-sink-file
end
complete -f -c heron-sink-file -a "(__complete_heron_sink_file)"
