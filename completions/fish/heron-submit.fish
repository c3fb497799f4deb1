# fish completion for heron-submit
function __complete_heron_submit
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    heron-submit
end
complete -f -c heron-submit -a "(__complete_heron_submit)"
