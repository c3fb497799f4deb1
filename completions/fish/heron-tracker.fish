# fish completion for heron-tracker
function __complete_heron_tracker
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    heron-tracker
end
complete -f -c heron-tracker -a "(__complete_heron_tracker)"
