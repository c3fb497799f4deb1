# fish completion for heron-executor
function __complete_heron_executor
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    heron-executor
end
complete -f -c heron-executor -a "(__complete_heron_executor)"
