# R `survey`: per unit x period, the 33 item shares and SIPAS with its
# linearized (delta-method) SE, for benches/compare.
#
#   Rscript survey.R RESPONSES.csv COEF.csv OUT.csv [TIMING_FILE]
#
# RESPONSES.csv: unit_code,period,channel,weight,<items> (exported from the
# canonical responses.parquet by run.sh; R here has no Parquet reader).
# COEF.csv: item,<root>,... from `compare.py coef`.
#
# Design: svydesign(ids = ~1, strata = ~interaction(unit_code, period),
# weights = ~weight). Each unit x period is one whole stratum, so its domain
# estimate and linearized variance equal those of a design holding only that
# stratum: we split by cell (as svyby does) and, per cell, take svytotal of the
# 66 variables w*[answered], w*[satisfied] and svycontrast of
# 100 * sum_j c_j * Y_j / X_j (delta method). This avoids svyby's full-data
# subsets (O(cells x rows)), which is far slower and gives the same numbers.
suppressPackageStartupMessages({
  library(survey)
  library(data.table)
})
options(survey.lonely.psu = "certainty")
args <- commandArgs(trailingOnly = TRUE)
d <- fread(args[1], colClasses = list(character = c("unit_code", "period", "channel")))
cf <- fread(args[2])
items <- cf$item
cr <- cf[[2]]
t0 <- proc.time()[["elapsed"]]
d <- d[channel == "survey"]
sat_min <- 4
for (j in items) {
  a <- d[[j]]
  set(d, j = paste0("x_", j), value = as.numeric(!is.na(a)))
  set(d, j = paste0("y_", j), value = as.numeric(!is.na(a) & a >= sat_min))
}
xy <- c(paste0("x_", items), paste0("y_", items))
fml <- as.formula(paste("~", paste(xy, collapse = "+")))
nz <- which(cr != 0)
expr <- parse(text = paste0(
  "100*(", paste0(sprintf("%.17g*y_%s/x_%s", cr[nz], items[nz], items[nz]), collapse = "+"), ")"
))[[1]]
setkeyv(d, c("unit_code", "period"))
cells <- split(d, by = c("unit_code", "period"), sorted = TRUE)
res <- lapply(cells, function(cd) {
  des <- svydesign(ids = ~1, weights = ~weight, data = cd)
  tot <- svytotal(fml, des)
  con <- svycontrast(tot, list(sipas = expr))
  est <- coef(tot)
  shares <- 100 * est[paste0("y_", items)] / est[paste0("x_", items)]
  c(nrow(cd), shares, coef(con), SE(con))
})
elapsed <- proc.time()[["elapsed"]] - t0
keys <- do.call(rbind, lapply(cells, function(cd) c(cd$unit_code[1], cd$period[1])))
m <- do.call(rbind, res)
message(sprintf("R survey: %d cells in %.3f s", nrow(m), elapsed))
if (length(args) >= 4) cat(sprintf("%.6f\n", elapsed), file = args[4], append = TRUE)
lines <- character(nrow(m))
for (i in seq_len(nrow(m))) {
  lines[i] <- paste(c(keys[i, 1], keys[i, 2], sprintf("%d", as.integer(m[i, 1])),
                      sprintf("%.17g", m[i, -1])), collapse = ",")
}
writeLines(c(paste(c("unit_code", "period", "n", items, "sipas", "sipas_se"), collapse = ","), lines),
           args[3])
