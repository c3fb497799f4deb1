# fish completion for heron-statemgr
function __complete_heron_statemgr
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    heron-statemgr
end
complete -f -c heron-statemgr -a "(__complete_heron_statemgr)"
