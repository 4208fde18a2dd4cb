"""Default ``synthetic:`` parameters, with the citation of every effect number.

The text below is the block merged into params.yaml (one source: ``SyntheticParams.default()``
parses it, and the params.yaml section is a copy of it). Citations name sections of the project's
clinical-facts reference; tags: [C] confirmed in a primary source, [S] secondary, [U] assumption or
calibration constant (tuned so the trial replication of :mod:`pipeline.trials` falls within its
tolerances).
"""

from __future__ import annotations

DEFAULT_YAML = """\
synthetic:
  n: 6000
  seed: 20261129
  median_horizon_months: 120       # true median capped at 10 years when S(120) >= 0.5
  censoring:
    accrual_months: 48             # staggered entry over 4 years [U]
    min_follow_up_months: 36       # study ends 36 months after the last entry [U]
    loss_to_follow_up_per_year: 0.05   # 5-10%/year lost [U]
  population:                      # China, all stages: clinical-facts §5.1
    male_share: 0.823              # §5.1 male 82.3% (WJGO 2023) [C]
    etiology_shares:               # §5.1 HBV 84.4% (Lin 2022), HCV 3.2-6.1%, NAFLD 3.5%, alcohol 0.7% [C]
      hbv: 0.82
      hcv: 0.045
      hbv_hcv: 0.02
      alcohol: 0.035
      masld: 0.05
      other: 0.03
    economic_shares: {low: 0.35, middle: 0.45, high: 0.20}   # [U]
    age_mean_hbv_years: 55.0       # §5.1 70.8% > 50 y; HBV-HCC ~12 y earlier than HCV-HCC [C]
    age_mean_other_years: 64.0
    age_sd_years: 11.0
    cirrhosis_by_etiology: {hbv: 0.82, hcv: 0.9, hbv_hcv: 0.9, alcohol: 0.9, masld: 0.5, other: 0.5}  # §5.1 80-90% [S]
    antiviral_share_hbv: 0.6       # [U]
    antiviral_share_hcv: 0.35      # [U]
    single_nodule_share: 0.41      # calibrated to the CNLC mix of §5.1 (WJGO 2023) [C]
    two_three_nodule_share: 0.12
    pvtt_logit_intercept: -1.3     # §2.10 macroscopic PVT 13.7% (<5 cm) to 56.4% (>10 cm) [C]
    ehs_logit_intercept: -2.75     # CNLC IIIb 12.0% (§5.1) [C]
    aggressiveness_shift: 0.0
    liver_severity_shift: 0.0
    ecog_thresholds: [0.5, 1.9, 3.9, 4.6]   # BCLC C 53.6% (§5.1 Zhong 2017), CNLC IV 3.1% [C]
    missing_shares:                # realistic missingness of optional fields [U]
      economic_status: 0.08
      hbv_dna_iu_ml: 0.15
      antiviral_therapy: 0.05
      varices: 0.25
      prior_variceal_bleeding: 0.1
      portal_hypertension: 0.15
      icg_r15_pct: 0.6
      sodium_mmol_l: 0.1
      neutrophils_10e9_l: 0.05
      hemoglobin_g_l: 0.05
      ast_u_l: 0.03
      alt_u_l: 0.03
      tumor_sum_diameter_cm: 0.1
      liver_involvement_pct: 0.3
      bilobar: 0.1
      near_major_vessel_or_duct: 0.15
      hepatic_vein_invasion: 0.08
      ivc_thrombus: 0.08
      bile_duct_invasion: 0.1
      lymph_node_metastasis: 0.1
      autoimmune_disease: 0.05
      prior_liver_transplant: 0.03
      recent_cardiovascular_event: 0.05
      on_anticoagulation: 0.05
  baseline:                        # untreated natural history: clinical-facts §3.6
    reference_median_months: 28.0  # single 2 cm nodule, CP A; calibrated: ITA.LI.CA BCLC 0 38 mo (west) [C], Asia-Pacific placebo 4.2 mo [C]
    weibull_shape: 1.3             # near-exponential (§5.3); Llovet 2002 control 1-yr 63% / 2-yr 27% (§3.2) [C]
    region_hazard: {china: 1.0, west: 0.5}   # §5.3 region effect: Asia-Pacific placebo 4.2 vs SHARP placebo 7.9 mo [C]
    cohort_region: china           # the default cohort is Chinese (§5.1)
    era_hazard_per_decade: 0.85    # treated arms after 2008: subsequent lines (§3.1 second line) [U, calibrated to REFLECT/IMbrave150 sorafenib arms]
    era_reference_year: 2008       # SHARP
    era_year: 2022                 # era of the default cohort
    log_hazard:
      log2_size_over_2cm: 0.30     # [U] tumour burden
      log2_count: 0.40             # [U] multinodularity (up-to-seven, six-and-twelve scores §4.4) [C variable]
      liver_gt50: 0.35             # Okuda/CLIP >50% liver (§4.4) [C variable]
      vp1: 0.45                    # ITA.LI.CA MVI 8.2 mo; central 7.1 vs peripheral 11.2 mo (§1.1) [C]
      vp2: 0.70
      vp3: 0.95
      vp4: 1.30
      hv_invasion: 0.40            # [U]
      ehs: 0.85                    # ITA.LI.CA EHS 11.2 vs PS1-alone 38.6 mo (§1.1) [C]
      ln_meta: 0.20                # [U]
      log10_afp_over_20: 0.22      # CLIP / HAP AFP > 400 (§4.4) [C variable]
      bile_duct: 0.20              # [U]
      albi_per_unit: 0.65          # ALBI grades 1/2/3 medians 18.5-85.6 / 5.3-46.5 / 2.3-15.5 mo (§4.2) [C]
      ascites_mild: 0.20           # Cabibbo 2010: worse with ascites, CP B-C (§3.6) [C]
      ascites_moderate_severe: 0.25
      encephalopathy: 0.20
      inr_per_unit_over_1_2: 0.40
      ecog1: 0.20                  # ITA.LI.CA PS1 alone 38.6 vs PS2 alone 22.3 mo (§1.1) [C]
      ecog2: 0.60
      ecog3: 0.45                  # BCLC D ~3 mo (§3.6) [U]
      ecog4: 0.60
      age_per_decade_over_60: 0.08 # [U]
    long_term_hazard_per_month: 0.004   # long-term survivors: background + late recurrence [U]
    long_term_liver_weight: 0.5
    early_death_mean_months: 0.7   # treatment-related deaths within ~90 days [U]
  effects:
    targeted_lenvatinib_share: 0.5       # Chinese practice mix [U]
    lenvatinib_hr_vs_sorafenib: 0.92     # REFLECT OS HR 0.92 (§3.1, Kudo Lancet 2018) [C]
    lenvatinib_orr_odds_ratio: 3.13      # REFLECT mRECIST ORR 24.1% vs 9.2% (§3.1) [C]
    response_survival_rho: 0.4           # responders live longer [U]
    modalities:
@MODALITIES@
  policy:                          # noisy indication-confounded choice; China practice (§1.2, §5.1 BRIDGE: TACE most common) [U]
    temperature: 1.25
    intercept: {resection: 0.07, transplant: -2.18, ablation: 0.15, tace: 1.41,
                tace_radiotherapy: -0.28, radiotherapy: -1.04, targeted: -0.22, immunotherapy: 0.16,
                chemotherapy: -1.48, supportive_care: 0.0}   # calibrated to the mix below [U]
    # target mix: TACE 28.5%, resection 16%, ablation 10%, targeted 10%, immunotherapy 10%,
    # supportive care 9%, TACE+RT 6%, radiotherapy 4%, chemotherapy 3%, transplant 2.5%
    coefficients:
      resection: {early_stage: 3.0, cnlc_iia: 2.0, cnlc_iiia: 1.2, cnlc_iib: 0.5, vp3_4: -1.5,
                  vp4: -1.0, ehs: -2.5, cp_b: -1.5, cp_c: -2.0, csph: -0.8, ecog2p: -1.2,
                  ecog3p: -1.0, age_ge70: -0.6, count_4p: -1.0, icg_ge30: -0.8}
      transplant: {within_milan: 2.0, within_ucsf: 0.5, cp_b: 0.8, cp_c: 1.5, econ_high: 1.5,
                   econ_low: -1.5, age_ge70: -1.5, mvi: -2.0, ehs: -2.5, ecog2p: -1.2}
      ablation: {size_le3: 2.0, cnlc_ia: 1.0, count_4p: -2.0, size_gt5: -2.0, mvi: -2.0, ehs: -2.0,
                 cp_c: -1.5, age_ge70: 0.5}
      tace: {cnlc_iib: 1.5, cnlc_ib: 0.5, cnlc_iia: 1.0, cnlc_iiia: 0.4, vp4: -1.5, ehs: -0.8,
             cp_b8: -1.0, cp_c: -1.5, ecog3p: -1.0, liver_gt50: -0.8}
      tace_radiotherapy: {vp2_3: 2.0, hv_invasion: 1.0, vp4: 0.3, ehs: -1.2, cp_b8: -1.2,
                          cp_c: -1.5, ecog3p: -1.0, early_stage: -1.2}
      radiotherapy: {mvi: 0.8, ehs: 0.6, cp_b: 0.3, cp_c: -1.0, age_ge70: 0.5, ecog3p: -0.5}
      targeted: {cnlc_iiia: 1.5, cnlc_iiib: 2.2, cnlc_iib: 0.5, cp_b: 0.3, cp_c: -1.5,
                 ecog3p: -1.0, econ_low: -0.4, early_stage: -1.5}
      immunotherapy: {cnlc_iiia: 1.8, cnlc_iiib: 2.2, cnlc_iib: 0.3, cp_b: -1.0, cp_c: -2.0,
                      ecog2p: -1.0, autoimmune: -1.5, prior_lt: -2.0, varices_risk: -0.8,
                      econ_high: 1.0, econ_low: -1.2, early_stage: -1.8}
      chemotherapy: {cnlc_iiib: 1.8, cnlc_iiia: 1.0, econ_low: 0.8, ecog2p: -1.0, anc_lt15: -1.0,
                     plt_lt75: -0.8, cp_c: -1.2, early_stage: -1.5}
      supportive_care: {cnlc_iv: 2.0, ecog3p: 1.2, cp_c: 1.0, age_ge70: 0.5, econ_low: 0.5,
                        early_stage: -2.0}
"""

MODALITY_YAML = """\
      resection:
        hazard_ratio: 0.30       # non-cured (recurrent) disease after resection [U]
        hr_terms: {}
        efficacy: {vp3: 0.7, vp4: 0.0, ehs: 0.3, count_4p: 0.6}   # CNLC: resection for Cheng I/II PVTT only (§1.2) [S]
        harm: {cp_b: 1.5, cp_c: 3.0, vp4: 1.5, ecog3p: 1.4, csph: 1.2, icg_ge30: 1.3, bili_ge34: 1.3}  # §2.1 / §6 hard rules [C/U]
        early_death: 0.015       # perioperative mortality [U]
        early_death_terms: {cp_b: 0.06, cp_c: 0.35, csph: 0.03, icg_ge30: 0.05, bili_ge34: 0.04, ecog3p: 0.05, age_ge70: 0.01, vp4: 0.08}
        cure_logit: 0.8          # Chen 2006 4-yr OS 64.0%, SURF 5-yr 74.6% (§3.5) [C], calibrated
        cure_terms: {size_3_5: -0.25, size_gt5: -0.8, size_gt10: -0.6, count_2_3: -0.6, count_4p: -1.8, vp1_2: -1.2, vp3_4: -2.5, hv_invasion: -1.0, ehs: -4.0, afp_gt400: -0.5, cirrhosis: -0.3, cp_b: -0.7, cp_c: -3.0}
        liver_weight: 1.0
        era_applies: true
        orr: 0.97                # complete removal recorded as "cr" [U]
        orr_terms: {vp3_4: -1.5, ehs: -2.5}
        cr_share: 1.0
        sd_share: 0.3
        assessed: 0.97
        pfs_fraction: 0.45
      transplant:
        hazard_ratio: 0.7        # recurrence after LT [U]
        hr_terms: {}
        efficacy: {mvi: 0.0, ehs: 0.0}
        harm: {ehs: 1.5, vp3_4: 1.6, beyond_up_to_seven: 1.3, ecog3p: 1.5}     # §2.2 hard rules: EHS, macrovascular invasion, beyond criteria (recurrence under immunosuppression) [C/U]
        early_death: 0.04        # perioperative LT mortality [U]
        early_death_terms: {ecog2p: 0.04, ecog3p: 0.1, cp_c: 0.04, age_ge70: 0.03, creat_ge177: 0.03}
        cure_logit: 2.0          # Milan 4-yr OS 85% (§2.2, Mazzaferro 1996) [C]
        cure_terms: {beyond_milan: -0.7, beyond_ucsf: -0.5, beyond_up_to_seven: -0.8, afp_gt1000: -1.2, mvi: -3.5, ehs: -5.0, count_4p: -1.5}  # UCSF 5-yr 80.9%, up-to-7 71.2%, AFP model (§2.2) [C]
        liver_weight: 0.15       # the graft replaces the diseased liver [U]
        era_applies: true
        orr: 0.97
        orr_terms: {}
        cr_share: 1.0
        sd_share: 0.3
        assessed: 0.97
        pfs_fraction: 0.45
      ablation:
        hazard_ratio: 0.35       # non-cured disease after ablation [U]
        hr_terms: {}
        efficacy: {size_gt5: 0.5, count_4p: 0.3, mvi: 0.3, ehs: 0.3}
        harm: {cp_c: 2.0, plt_lt50: 1.1}   # §2.3 / §6: CP C, coagulopathy [C/U]
        early_death: 0.002       # SURF serious AE 0% after RFA (§3.5) [C]
        early_death_terms: {cp_c: 0.08, plt_lt50: 0.01, inr_gt15: 0.01}
        cure_logit: 1.1          # Chen 2006 ablation 4-yr OS 67.9%, SURF RFA 5-yr 70.4% (§3.5) [C], calibrated
        cure_terms: {size_3_5: -1.0, size_gt5: -3.0, count_2_3: -0.5, count_4p: -3.0, mvi: -4.0, ehs: -5.0, cp_b: -0.6, cp_c: -3.0, afp_gt400: -0.5, cirrhosis: -0.3}  # best <= 3 cm (§2.3) [C]
        liver_weight: 1.0
        era_applies: true
        orr: 0.95                # complete ablation of <= 3 cm nodules [U]
        orr_terms: {size_3_5: -1.5, size_gt5: -3.0, count_4p: -2.0, mvi: -2.0}
        cr_share: 0.95
        sd_share: 0.4
        assessed: 0.95
        pfs_fraction: 0.45
      tace:
        hazard_ratio: 0.33       # patient-level; trial-level Cox HR reproduces Llovet 2002 0.47, Lo 2002 0.49 (§3.2) [C]
        hr_terms: {}
        efficacy: {size_gt10: 0.5, liver_gt50: 0.4, beyond_up_to_seven: 0.85, vp1_2: 0.75, vp3: 0.45, vp4: 0.0, ehs: 0.4, cp_b8: 0.5, cp_c: 0.0, albi3: 0.5}   # TACE-unsuitable factors (§2.4 AASLD/JSH) [C]
        harm: {vp4: 1.5, cp_b8: 1.3, cp_c: 1.8, bili_gt51: 1.4, creat_ge177: 1.3, ecog3p: 1.3, liver_gt50: 1.2}   # §2.4 / §6 hard rules [C/S]
        early_death: 0.01        # post-TACE death [U]
        early_death_terms: {cp_b8: 0.05, cp_c: 0.12, vp4: 0.06, bili_gt51: 0.05}   # §5.3 post-TACE mortality rises with bilirubin > 2 mg/dL, tumour > 50% [S]
        cure_logit: -1.2         # long-term survivors in small tumours: Lo 2002 3-yr 26% (§3.2) [C], calibrated
        cure_terms: {size_gt3: -1.0, count_4p: -1.5, mvi: -2.5, ehs: -3.0}
        liver_weight: 1.0
        era_applies: true
        orr: 0.5                 # TACE ORR 35-50% (Llovet 2002 sustained OR 35%, §3.2) [C], reference = small nodule
        orr_terms: {size_gt5: -0.6, size_gt10: -0.5, count_4p: -0.4, vp3_4: -0.7, ehs: -0.3}
        cr_share: 0.35
        sd_share: 0.55
        assessed: 0.95
        pfs_fraction: 0.5
      tace_radiotherapy:
        hazard_ratio: 0.35       # patient-level; calibrated to START TACE+RT vs sorafenib OS 55 vs 43 wk (§3.3, Yoon 2018) [C]
        hr_terms: {}
        efficacy: {vp1_2: 0.95, vp3: 0.85, vp4: 0.5, size_gt10: 0.8, liver_gt50: 0.4, ehs: 0.4, cp_b8: 0.4, cp_c: 0.0}   # RT treats the thrombus: best with Vp2-3 (§2.10) [C]
        harm: {vp4: 1.15, cp_b8: 1.4, cp_c: 2.0, bili_gt51: 1.4, ecog3p: 1.3, liver_gt50: 1.3}   # §2.5 CP >= B8, liver volume [C/U]
        early_death: 0.015
        early_death_terms: {cp_b8: 0.06, cp_c: 0.12, bili_gt51: 0.05}
        cure_logit: -1.0
        cure_terms: {size_gt3: -1.0, count_4p: -1.5, mvi: -2.2, ehs: -3.0}
        liver_weight: 1.0
        era_applies: true
        orr: 0.42                # START 24-wk ORR 33.3% in large tumours with MVI (§3.3) [C], reference = small nodule
        orr_terms: {size_gt5: -0.4, size_gt10: -0.4, count_4p: -0.4, vp4: -0.5, ehs: -0.3}
        cr_share: 0.25
        sd_share: 0.6
        assessed: 0.95
        pfs_fraction: 0.5
      radiotherapy:
        hazard_ratio: 0.65       # EBRT/SBRT alone [U]; RTOG 1112 SBRT+sorafenib HR 0.77 (§3.3) [U]
        hr_terms: {}
        efficacy: {size_gt5: 0.6, count_4p: 0.4, ehs: 0.5, cp_b8: 0.4, cp_c: 0.0}
        harm: {cp_b8: 1.4, cp_c: 1.8, liver_gt50: 1.4}   # §2.5 / §6: CP >= B8, insufficient uninvolved liver [U]
        early_death: 0.003
        early_death_terms: {cp_c: 0.05}
        cure_logit: 0.0          # SBRT alternative in early stage (§1.3) [S]; local control below ablation [U]
        cure_terms: {size_3_5: -0.8, size_gt5: -2.5, count_2_3: -1.0, count_4p: -3.0, mvi: -3.0, ehs: -4.0, cp_b: -0.5, cirrhosis: -0.3}
        liver_weight: 1.0
        era_applies: true
        orr: 0.55                # [U]
        orr_terms: {size_gt5: -0.5, count_4p: -0.5}
        cr_share: 0.25
        sd_share: 0.6
        assessed: 0.9
        pfs_fraction: 0.45
      targeted:
        hazard_ratio: 0.55       # patient-level sorafenib HR; trial-level Cox HR reproduces SHARP 0.69, Asia-Pacific 0.68 (§3.1) [C]
        hr_terms: {}
        efficacy: {cp_b: 0.4, cp_c: 0.0, early_stage: 0.5}   # early stage: no trial evidence (SHARP/REFLECT enrolled BCLC B/C) [U]; GIDEON CP A 13.6 vs CP B 5.2 mo (§3.1, §2.6) [C]
        harm: {cp_c: 1.3, ecog3p: 1.2}     # §2.6 / §6 hard rules: CP C, ECOG >= 3 [C]
        early_death: 0.0
        early_death_terms: {}
        cure_logit: null
        cure_terms: {}
        liver_weight: 1.0
        era_applies: true
        orr: 0.11                # sorafenib mRECIST 9.2% (REFLECT) / 13.3% (IMbrave150) (§3.1) [C]
        orr_terms: {cp_b: -0.3}
        cr_share: 0.05
        sd_share: 0.65           # SHARP SD 71% (§3.1) [C]
        assessed: 0.9
        pfs_fraction: 0.45       # SHARP TTP 5.5 / OS 10.7; Asia-Pacific 2.8 / 6.5 (§3.1) [C]
      immunotherapy:
        hazard_ratio: 0.20       # patient-level, reference = HBV, ALBI 1: ~ sorafenib 0.55 x 0.51 (IMbrave150 HBV) x 0.86 (ALBI 1) x 0.83 calibration; trial-level HR 0.58-0.66 (§3.1, §2.7) [C]
        hr_terms: {hcv_only: 0.843, nonviral: 1.784, albi2: 1.45, albi3: 1.45}   # IMbrave150 HCV 0.43 / non-viral 0.91 vs HBV 0.51; ALBI 1 HR 0.50, no OS benefit in ALBI 2 (§3.1, §2.7) [C]
        efficacy: {cp_b: 0.3, cp_c: 0.0, early_stage: 0.5}   # IMbrave150 CP A only (§2.7) [C]; early stage: no trial evidence [U]
        harm: {cp_b: 1.15, cp_c: 1.5, ecog2p: 1.2, autoimmune: 1.6, prior_lt: 3.0, varices_risk: 1.5, cv_event: 1.5, anticoag: 1.3}   # §2.7 / §6 hard rules [C]
        early_death: 0.005
        early_death_terms: {varices_risk: 0.05, prior_lt: 0.1}   # variceal bleeding 7.0% on atezo-bev (Korea, §2.7) [C]
        cure_logit: null
        cure_terms: {}
        liver_weight: 1.0
        era_applies: true
        orr: 0.38                # IMbrave150 mRECIST 33.2% (§3.1) [C], reference = ALBI 1
        orr_terms: {cp_b: -0.5, cp_c: -1.0, albi2: -0.3}
        cr_share: 0.3            # IMbrave150 CR 6% RECIST; higher by mRECIST [U]
        sd_share: 0.6
        assessed: 0.9
        pfs_fraction: 0.4        # IMbrave150 PFS 6.8 vs OS 19.2 mo (§3.1) [C]
      chemotherapy:
        hazard_ratio: 0.65       # patient-level; = 0.72 (FOLFOX4 vs doxorubicin, trial-level EACH 0.80, §3.1 Qin JCO 2013 [C]) x doxorubicin vs untreated 0.90 [U]
        hr_terms: {}
        efficacy: {cp_b: 0.5, cp_c: 0.0, early_stage: 0.5}   # EACH enrolled BCLC B/C (§2.8) [C]; early stage [U]
        harm: {ecog2p: 1.25, anc_lt15: 1.3, plt_lt75: 1.2, cp_c: 1.4}   # §2.8 EACH eligibility: KPS >= 70, ANC >= 1.5, platelets >= 75 [C]
        early_death: 0.005
        early_death_terms: {anc_lt15: 0.03}
        cure_logit: null
        cure_terms: {}
        liver_weight: 1.0
        era_applies: true
        orr: 0.09                # EACH RR 8.15% (RECIST 1.0); China 8.6% (§3.1) [C]
        orr_terms: {}
        cr_share: 0.05
        sd_share: 0.42           # EACH China DCR 47.1% (§3.1) [C]
        assessed: 0.9
        pfs_fraction: 0.45       # EACH PFS 2.93 / OS 6.40 (§3.1) [C]
      supportive_care:
        hazard_ratio: 1.0        # untreated natural history (§3.6)
        hr_terms: {}
        efficacy: {}
        harm: {}
        early_death: 0.0
        early_death_terms: {}
        cure_logit: null
        cure_terms: {}
        liver_weight: 1.0
        era_applies: false       # no subsequent anticancer therapy
        orr: 0.013               # Asia-Pacific placebo PR 1.3% (§3.1) [C]
        orr_terms: {}
        cr_share: 0.0
        sd_share: 0.3            # Asia-Pacific placebo SD 27.6% (§3.1) [C]
        assessed: 0.15           # mostly not assessed
        pfs_fraction: 0.35       # Asia-Pacific placebo TTP 1.4 / OS 4.2 (§3.1) [C]
"""


def default_yaml() -> str:
    """The ``synthetic:`` block of params.yaml (YAML text with citation comments)."""
    return DEFAULT_YAML.replace("@MODALITIES@\n", MODALITY_YAML)


def default_mapping() -> dict:
    """The default ``synthetic:`` section as a plain mapping."""
    import yaml

    return yaml.safe_load(default_yaml())["synthetic"]
