# fish completion for heron-ui
function __complete_heron_ui
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    heron-ui
end
complete -f -c heron-ui -a "(__complete_heron_ui)"
