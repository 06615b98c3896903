# Reference figures for orfi's early warning (issue 14), from R's `surveillance`.
#
# Simulates a fixed, seeded set of weekly count series (season, trend, overdispersion,
# outbreaks planted in the history and in the checked range), runs
# surveillance::farringtonFlexible with the improved ("Noufaily") options orfi uses,
# and writes the series and R's results to tests/fixtures/earlywarning/*.csv, which the
# tests compare with orfi.earlywarning (CI does not install R).
#
# Run from the repository root (Debian: apt install r-cran-surveillance):
#     Rscript benchmarks/earlywarning/reference.R
# Written with surveillance 1.20.3 (R 4.x).

suppressMessages(library(surveillance))

out_dir <- "tests/fixtures/earlywarning"
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

set.seed(20261207)
n_weeks <- 8 * 52 + 4                      # eight years and a bit of Monday-weeks
weeks <- seq(as.Date("2018-01-01"), by = "week", length.out = n_weeks)
checked <- 104                             # the last two years are checked week by week
range <- (n_weeks - checked + 1):n_weeks
t <- seq_len(n_weeks)

# One series: mean `base` a week, seasonal amplitude `season` (log scale, peak in
# summer), trend `trend` per year (log scale), negative binomial with size `size`
# (Inf: Poisson), and outbreaks: a list of (first week, length, factor).
simulate <- function(base, season, trend, size, outbreaks = list()) {
  mu <- base * exp(season * cos(2 * pi * (t - 30) / 52.18) + trend * (t - n_weeks) / 52)
  for (o in outbreaks) {
    idx <- o[1]:(o[1] + o[2] - 1)
    mu[idx] <- mu[idx] * o[3]
  }
  if (is.infinite(size)) rpois(n_weeks, mu) else rnbinom(n_weeks, size = size, mu = mu)
}

r0 <- range[1]
units <- list(
  "R01-calme"        = simulate(0.6, 0.3, 0, Inf),
  "R02-faible"       = simulate(2, 0.4, 0.10, Inf),
  "R03-passe-agite"  = simulate(5, 0.3, 0, 10, list(c(150, 6, 3), c(r0 + 40, 4, 3))),
  "R04-surdisperse"  = simulate(10, 0.2, 0, 5, list(c(r0 + 70, 4, 3))),
  "R05-baisse"       = simulate(20, 0.3, -0.12, 20),
  "R06-doublement"   = simulate(3, 0.3, 0, Inf, list(c(r0 + 60, 20, 2))),
  "R07-hausse"       = simulate(4, 0.2, 0.25, 8),
  "R08-stable"       = simulate(8, 0, 0, 15),
  "R09-hiver"        = simulate(6, -0.5, 0, 10, list(c(r0 + 20, 3, 4))),
  "R10-eparse"       = simulate(1.2, 0.5, 0, 3),
  "R11-triplement"   = simulate(2.5, 0.3, 0.05, Inf, list(c(r0 + 85, 8, 3))),
  "R12-grande"       = simulate(35, 0.25, 0.05, 30, list(c(220, 8, 2), c(r0 + 30, 3, 1.8)))
)
observed <- do.call(cbind, units)

write.csv(
  data.frame(week = rep(weeks, ncol(observed)),
             unit = rep(colnames(observed), each = n_weeks),
             count = as.vector(observed)),
  file.path(out_dir, "series.csv"), row.names = FALSE)

# The improved Farrington method as orfi runs it (orfi/earlywarning/farrington.py,
# FarringtonParams): five years back, windows of +-3 weeks, a ten-level seasonal
# factor, past outbreaks down-weighted above Anscombe residual 2.58, the last 26 weeks
# left out, a trend only when significant at 5 %, negative binomial plug-in quantile,
# no alarm with fewer than 5 facts in the last 4 weeks.
control_for <- function(alpha, b = 5) {
  list(range = range, b = b, w = 3, noPeriods = 10, reweight = TRUE,
       weightsThreshold = 2.58, pastWeeksNotIncluded = 26, trend = TRUE,
       pThresholdTrend = 0.05, thresholdMethod = "nbPlugin", alpha = alpha,
       limit54 = c(5, 4), glmWarnings = FALSE)
}

# orfi checks a résidence with fewer than five years of history with as many past
# years as it has (down to two): b = 2 is checked as well, at the alerte level.
runs <- list(list(b = 5, alpha = 0.005, file = "farrington_alpha_0.005.csv"),
             list(b = 5, alpha = 0.1, file = "farrington_alpha_0.1.csv"),
             list(b = 2, alpha = 0.005, file = "farrington_b2_alpha_0.005.csv"))
s <- sts(observed = observed, epoch = weeks, frequency = 52)
for (run in runs) {
  res <- farringtonFlexible(s, control = control_for(run$alpha, run$b))
  ctl <- res@control
  df <- data.frame(
    week = rep(weeks[range], ncol(observed)),
    unit = rep(colnames(observed), each = length(range)),
    observed = as.vector(observed(res)),
    upperbound = as.vector(upperbound(res)),
    expected = as.vector(ctl$expected),
    mu0 = as.vector(ctl$mu0Vector),
    phi = as.vector(ctl$phiVector),
    trend = as.vector(ctl$trend),
    alarm = as.integer(as.vector(alarms(res))))
  write.csv(df, file.path(out_dir, run$file), row.names = FALSE)
}

write.csv(
  data.frame(parameter = c("b", "w", "noPeriods", "weightsThreshold",
                           "pastWeeksNotIncluded", "pThresholdTrend",
                           "thresholdMethod", "limit54_cases", "limit54_weeks",
                           "surveillance_version", "seed"),
             value = c(5, 3, 10, 2.58, 26, 0.05, "nbPlugin", 5, 4,
                       as.character(packageVersion("surveillance")), 20261207)),
  file.path(out_dir, "parameters.csv"), row.names = FALSE)
cat("written to", out_dir, "\n")
