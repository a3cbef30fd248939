# Shared by the benches that compare dashboard runs with headless ones in pairs; sourced.

# Stops the script unless VALUE is a whole number of at least 1.
require_count() {
    local name="$1" value="$2"
    if ! [ "$value" -ge 1 ] 2>/dev/null; then
        echo "$name must be a whole number of at least 1, not '$value'" >&2
        exit 2
    fi
}

# Stops the script unless PAGE is one of the pages of a training run's dashboard, 1 to 4 (it
# has no page 5, which follows a sweep; another key would leave it on page 1, and some letters
# would act).
require_page() {
    case "$1" in
        [1-4]) ;;
        *)
            echo "PAGE must be one of the dashboard's pages, 1 to 4, not '$1'" >&2
            exit 2
            ;;
    esac
}

# Reads one ratio a line and prints their mean and median.
summarize_ratios() {
    sort -n | awk '
        { r[NR] = $1; total += $1 }
        END {
            n = NR
            median = n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
            printf "mean ratio %.3f, median %.3f over %d pairs\n", total / n, median, n
        }'
}
