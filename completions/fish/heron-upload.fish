# fish completion for heron-upload
function __complete_heron_upload
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    heron-upload
end
complete -f -c heron-upload -a "(__complete_heron_upload)"
