"""The example study's two coders: reviewed coding decisions, unit id -> codes.

Coder A codes every respondent paragraph. Coder B codes the double-coding
sample (0.3 of respondents, seed 7, by respondent -> SF3, SF6, SF7, TL2).
B's decisions are A's for the sample units except for the deviations listed
in B_CHANGES, each with the reason a real second coder would differ.
Units not listed carry no code (greetings, background, closings, headers).
"""

A = {
    # SF1 — support worker, Northvale
    "SF1.txt#3": ["coord.practical"],  # housing, benefits, appointments: what her job holds together
    "SF1.txt#5": ["work.caseload"],  # 26 open, meant to be 15, 8 waiting for allocation
    "SF1.txt#7": ["work.toll"],  # Sunday night, not sleeping
    "SF1.txt#9": ["sup.peer", "sup.supervision", "work.caseload"],  # talking to the others; team leader; the numbers
    "SF1.txt#11": ["rel.continuity"],  # eight workers in three years; still there a year later
    "SF1.txt#12": ["rel.continuity", "imp.crisis"],  # three years; rings before it gets bad
    "SF1.txt#14": ["rel.time", "rel.continuity"],  # hour and a half to listen; time and knowing them go together
    "SF1.txt#16": ["rel.continuity"],  # colleague's clients split, start again
    "SF1.txt#18": ["coord.info"],  # can't see the health record; systems don't talk
    "SF1.txt#20": ["coord.info"],  # consent forms, chasing information
    "SF1.txt#22": ["coord.clinical"],  # named CMHT link, psychiatrists, CPA reviews
    "SF1.txt#23": ["coord.clinical", "imp.crisis"],  # crisis team threshold; knows three days before
    "SF1.txt#25": ["imp.crisis", "coord.practical", "coord.clinical"],  # admission that didn't happen
    "SF1.txt#27": ["imp.family"],  # mum notices things
    "SF1.txt#29": ["work.caseload", "coord.info", "rel.continuity"],  # numbers, records, the consistent person
    # SF2 — support worker, Eastbrook
    "SF2.docx#6": ["coord.practical", "work.admin"],
    "SF2.docx#8": ["work.admin"],  # writing the same visit three times
    "SF2.docx#10": ["work.admin"],  # slow system logs you out
    "SF2.docx#12": ["work.admin"],  # a day a week on notes
    "SF2.docx#14": ["work.admin"],
    "SF2.docx#16": ["coord.info"],  # A&E at the weekend, nobody told us
    "SF2.docx#18": ["coord.info"],  # not safe to walk in blind
    "SF2.docx#20": ["coord.info"],  # data sharing agreements
    "SF2.docx#22": ["sup.training"],  # induction, shadowing
    "SF2.docx#24": ["sup.training"],  # nobody trained me on benefits
    "SF2.docx#26": ["sup.training"],
    "SF2.docx#28": ["coord.practical"],  # PIP mandatory reconsideration
    "SF2.docx#30": ["coord.practical"],  # no gas
    "SF2.docx#32": ["imp.independence"],  # gets the bus on his own
    "SF2.docx#36": ["rel.boundaries", "sup.supervision"],  # Facebook request; talked to team leader
    "SF2.docx#38": ["rel.boundaries"],
    "SF2.docx#40": ["rel.boundaries"],  # phone off at five
    "SF2.docx#42": ["work.admin", "sup.training"],
    "SF2.docx#44": ["work.admin"],
    # SF3 — support worker (sample)
    "SF3.vtt#6": ["work.toll"],  # taken the most out of me
    "SF3.vtt#8": ["work.caseload", "work.toll"],  # 22, triaging; serious incident, not sleeping
    "SF3.vtt#10": ["sup.supervision", "sup.peer"],  # debrief with team leader; group chat
    "SF3.vtt#12": ["sup.peer"],  # colleague sat with me in the car
    "SF3.vtt#14": ["sup.peer"],  # informal support between visits
    "SF3.vtt#16": ["sup.supervision"],  # six-weekly, case management, reflective group stopped
    "SF3.vtt#18": ["sup.supervision"],  # reply: reflective space would make a big difference
    "SF3.vtt#20": ["rel.boundaries"],  # self-disclosure, personal number, Instagram
    "SF3.vtt#22": ["rel.boundaries"],  # policy, gifts, grey areas
    "SF3.vtt#24": ["coord.info", "coord.clinical"],  # not on their system, chasing; some CMHT workers brilliant
    "SF3.vtt#26": ["coord.info"],  # discharged on Friday, told the next Thursday
    "SF3.vtt#28": ["coord.info"],  # put us on the discharge checklist
    "SF3.vtt#30": ["work.caseload", "sup.peer", "sup.supervision"],  # smaller caseloads; time for the team; reflective group
    # SF4 — support worker
    "SF4.txt#6": ["rel.continuity"],  # one worker, not pillar to post
    "SF4.txt#8": ["rel.continuity"],  # lost six to another patch: postcodes
    "SF4.txt#10": ["work.caseload"],
    "SF4.txt#12": ["rel.time", "rel.continuity"],  # no forty minutes; the ones known for years
    "SF4.txt#14": ["coord.waiting", "work.caseload"],  # psychology 16 months; own waiting list
    "SF4.txt#16": ["coord.waiting"],  # holding him until therapy
    "SF4.txt#18": ["coord.clinical"],
    "SF4.txt#19": ["coord.clinical", "coord.info"],  # GPs; form in triplicate
    "SF4.txt#21": ["coord.info"],  # medication changed, nobody told me
    "SF4.txt#23": ["coord.info", "work.admin"],  # consent forms; a day a week on the computer
    "SF4.txt#25": ["imp.independence"],  # from not leaving the flat to her own shopping
    "SF4.txt#27": ["imp.independence", "work.caseload"],
    "SF4.txt#29": ["work.caseload", "rel.continuity", "coord.info"],
    # SF5 — support worker
    "SF5.txt#4": ["coord.practical"],  # food bank, sanction, damp
    "SF5.txt#6": ["rel.boundaries"],
    "SF5.txt#8": ["rel.boundaries"],  # texts at half nine at night
    "SF5.txt#9": ["rel.boundaries"],  # can't be his crisis line
    "SF5.txt#11": ["imp.crisis"],  # A&E once this year instead of twenty
    "SF5.txt#13": ["work.caseload", "rel.time"],  # 23; short visits in and out
    "SF5.txt#15": ["rel.time", "imp.family", "coord.practical"],  # an hour to listen; son taking money; bank
    "SF5.txt#17": ["imp.family"],
    "SF5.txt#19": ["coord.practical"],
    "SF5.txt#21": ["coord.practical", "coord.info"],
    "SF5.txt#23": ["coord.info"],
    "SF5.txt#25": ["work.caseload"],  # wish there were more of us
    # SF6 — support worker (sample)
    "SF6.odt#6": ["sup.training"],
    "SF6.odt#8": ["sup.training"],  # training wanted: personality disorder, drugs, resilience
    "SF6.odt#10": ["work.toll"],  # off for three weeks with stress
    "SF6.odt#12": ["sup.peer"],  # the team texting; colleague took me under her wing
    "SF6.odt#14": ["sup.peer"],  # buddy system
    "SF6.odt#16": ["sup.peer"],  # reply: managers happy with the peer support, no time for it
    "SF6.odt#18": ["rel.continuity"],  # we stay; eight years
    "SF6.odt#20": ["imp.independence", "rel.continuity"],  # college, allotment; not with a new worker met twice
    "SF6.odt#22": ["imp.independence"],
    "SF6.odt#24": ["work.admin"],  # outcome measures, slow system
    "SF6.odt#26": ["sup.peer", "work.admin", "rel.continuity"],
    # SF7 — reflective diary (sample)
    "SF7.txt#4": ["work.caseload"],  # nineteen, colleague's lot shared out
    "SF7.txt#6": ["rel.continuity", "rel.time"],  # transferred client: told the last one; looking at the clock
    "SF7.txt#8": ["work.toll"],  # bad night, three in the morning
    "SF7.txt#9": ["work.caseload", "rel.time", "work.toll"],
    "SF7.txt#11": ["sup.supervision"],
    "SF7.txt#13": ["coord.waiting"],  # psychology 14-18 months
    "SF7.txt#14": ["coord.waiting"],  # ADHD assessment two years
    "SF7.txt#16": ["imp.independence"],  # coffee morning on her own
    "SF7.txt#18": ["work.toll"],  # no lunch break, short with partner
    "SF7.txt#20": ["sup.peer"],  # colleague's list of good things
    "SF7.txt#22": ["work.caseload"],  # twenty-one; new posts with commissioners
    "SF7.txt#23": ["rel.time"],  # when there's no clock
    "SF7.txt#25": ["sup.supervision", "work.toll"],  # slept better; extra supervision
    # SF8 — support worker
    "SF8.rtf#2": ["work.admin"],
    "SF8.rtf#6": ["work.caseload"],
    "SF8.rtf#8": ["work.caseload", "rel.time"],  # visits shorter, firefighting
    "SF8.rtf#10": ["imp.crisis", "rel.continuity", "coord.clinical"],
    "SF8.rtf#12": ["coord.clinical", "coord.info"],
    "SF8.rtf#14": ["coord.info"],
    "SF8.rtf#15": ["coord.info"],
    "SF8.rtf#17": ["work.admin"],
    "SF8.rtf#19": ["coord.waiting"],
    "SF8.rtf#21": ["sup.peer"],
    "SF8.rtf#23": ["sup.peer"],
    "SF8.rtf#25": ["rel.continuity"],
    "SF8.rtf#27": ["work.caseload", "coord.info"],
    # SF9 — support worker (Wales)
    "SF9.docx#4": ["work.caseload"],
    "SF9.docx#6": ["work.caseload"],
    "SF9.docx#8": ["rel.time", "coord.practical"],
    "SF9.docx#10": ["coord.practical"],
    "SF9.docx#12": ["coord.practical"],
    "SF9.docx#14": ["coord.practical"],
    "SF9.docx#16": ["coord.info", "coord.clinical"],
    "SF9.docx#17": ["coord.info"],
    "SF9.docx#19": ["imp.family", "imp.crisis"],
    "SF9.docx#21": ["imp.family"],
    "SF9.docx#23": ["imp.independence"],
    "SF9.docx#25": ["rel.boundaries"],
    "SF9.docx#27": ["work.caseload", "coord.info", "imp.family"],
    # TL1 — team leader
    "TL1.vtt#2": ["work.caseload"],
    "TL1.vtt#4": ["sup.supervision", "work.admin"],
    "TL1.vtt#6": ["work.toll"],
    "TL1.vtt#8": ["work.caseload", "work.toll"],
    "TL1.vtt#10": ["work.toll", "work.caseload"],
    "TL1.vtt#12": ["sup.supervision"],
    "TL1.vtt#14": ["work.caseload"],  # five-day KPI pushes existing clients back
    "TL1.vtt#16": ["imp.crisis"],
    "TL1.vtt#18": ["imp.crisis"],
    "TL1.vtt#20": ["coord.clinical"],
    "TL1.vtt#22": ["coord.info"],
    "TL1.vtt#24": ["coord.info"],
    "TL1.vtt#26": ["work.admin"],
    "TL1.vtt#28": ["work.caseload", "coord.info"],
    # TL2 — team leader (sample)
    "TL2.txt#4": ["work.caseload"],  # vacancies
    "TL2.txt#6": ["work.caseload"],  # pay: losing staff as a recruitment problem
    "TL2.txt#8": ["rel.continuity"],
    "TL2.txt#10": ["work.caseload"],
    "TL2.txt#12": ["work.caseload"],
    "TL2.txt#14": ["work.admin"],
    "TL2.txt#16": ["work.admin"],
    "TL2.txt#18": ["coord.info"],
    "TL2.txt#20": ["coord.info"],
    "TL2.txt#22": ["sup.supervision"],
    "TL2.txt#24": ["sup.training"],
    "TL2.txt#26": ["sup.training"],
    "TL2.txt#28": ["coord.waiting", "work.caseload"],
    "TL2.txt#30": ["work.caseload", "work.admin", "rel.continuity"],
    # TL3 — team leader (Wales)
    "TL3.docx#4": ["rel.continuity"],  # settled team
    "TL3.docx#6": ["sup.peer"],
    "TL3.docx#8": ["sup.peer", "sup.supervision"],  # peer reflective group
    "TL3.docx#9": ["sup.peer"],
    "TL3.docx#11": ["sup.supervision", "sup.peer"],
    "TL3.docx#13": ["rel.boundaries", "sup.peer"],
    "TL3.docx#15": ["work.toll", "work.caseload"],
    "TL3.docx#17": ["work.caseload"],
    "TL3.docx#19": ["sup.training"],
    "TL3.docx#21": ["coord.practical"],
    "TL3.docx#23": ["coord.clinical"],
    "TL3.docx#25": ["coord.info"],
    "TL3.docx#27": ["sup.peer", "coord.info"],
    # TL4 — team leader
    "TL4.srt#4": ["coord.clinical"],
    "TL4.srt#6": ["coord.clinical", "imp.crisis"],
    "TL4.srt#8": ["imp.crisis"],
    "TL4.srt#10": ["work.caseload", "rel.time"],
    "TL4.srt#12": ["rel.time"],
    "TL4.srt#14": ["coord.waiting", "work.caseload"],
    "TL4.srt#16": ["coord.waiting", "imp.crisis"],
    "TL4.srt#18": ["coord.info"],
    "TL4.srt#20": ["imp.independence"],
    "TL4.srt#22": ["rel.continuity"],
    "TL4.srt#24": ["rel.time"],
    # TL5 — team leader
    "TL5.txt#6": ["sup.supervision"],
    "TL5.txt#8": ["sup.supervision"],
    "TL5.txt#10": ["work.caseload"],
    "TL5.txt#12": ["work.caseload", "coord.waiting"],
    "TL5.txt#14": ["rel.continuity"],
    "TL5.txt#16": ["imp.family"],
    "TL5.txt#18": ["imp.family", "imp.independence"],
    "TL5.txt#20": ["imp.independence"],
    "TL5.txt#22": ["coord.practical", "sup.peer"],
    "TL5.txt#24": ["coord.info"],
    "TL5.txt#26": ["work.admin"],
    "TL5.txt#28": ["work.caseload"],
}

# B's deviations from A on the sample: unit -> (codes B adds, codes B leaves out, why)
B_CHANGES = {
    # B applies work.toll more widely: to coping, support after hard days and feeling it
    "SF3.vtt#10": (["work.toll"], [], "the night after the incident: B codes the distress, A only the support"),
    "SF3.vtt#14": (["work.toll"], [], "'a horrible one ... what keeps us going': B reads it as toll"),
    "SF6.odt#8": (["work.toll"], [], "asking for resilience training: B codes the toll behind it"),
    "SF6.odt#12": (["work.toll"], [], "'put it down at the end of the day': B codes taking it home"),
    "SF7.txt#4": (["work.toll"], [], "'I feel bad even writing that I'm struggling'"),
    "SF7.txt#11": (["work.toll"], [], "the three a.m. worry she did not raise in supervision"),
    # boundary between rel.continuity and rel.time: B codes time where A codes continuity
    "SF7.txt#6": ([], ["rel.continuity"], "transferred client: B sees only the clock, not the change of worker"),
    "SF6.odt#20": (["rel.time"], ["rel.continuity"], "'I sat in the car park': B reads it as time given, A as the long relationship"),
    # missed passages: short replies whose meaning depends on the question
    "SF3.vtt#18": ([], ["sup.supervision"], "missed: 'God, yes' about a reflective group"),
    "SF6.odt#16": ([], ["sup.peer"], "missed: managers are happy with the peer support"),
    "TL2.txt#28": ([], ["work.caseload"], "missed the second half: Bridge caseloads and waiting list"),
    # a second code one coder saw and the other did not
    "SF3.vtt#8": (["imp.crisis"], [], "the client's self-harm incident: B codes it as a crisis, A as the worker's toll only"),
    "SF3.vtt#26": (["coord.practical"], [], "home a week with no food in: B adds the practical side"),
    "TL2.txt#12": (["imp.crisis"], [], "'who's most likely to end up in crisis': B codes crisis prevention"),
    # a second code where A kept to the codebook's exclusion
    "TL2.txt#22": (["sup.peer"], [], "group supervision where 'everyone chips in': B adds peer support"),
}

SAMPLE = {"fraction": 0.3, "seed": 7, "by": "respondent"}
