# fish completion for heron-apiserver
function __complete_heron_apiserver
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    heron-apiserver
end
complete -f -c heron-apiserver -a "(__complete_heron_apiserver)"
