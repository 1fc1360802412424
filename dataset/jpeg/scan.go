package jpeg

// scanComp is a component of the current scan with its tables.
type scanComp struct {
	c  *component
	dc *huffman
	ac *acTable
}

// scan parses SOS and decodes the scan's entropy-coded data.
func (d *decoder) scan(p []byte) error {
	if len(p) < 1 {
		return errorf("empty scan header")
	}
	ns := int(p[0])
	if ns < 1 || ns > 4 || len(p) != 4+2*ns {
		return errorf("scan header of %d bytes for %d components", len(p), ns)
	}
	scs := make([]scanComp, ns)
	blocks := 0
	for i := range scs {
		id, tables := p[1+2*i], p[2+2*i]
		ci := -1
		for j := range d.comps {
			if d.comps[j].id == id {
				ci = j
			}
		}
		if ci < 0 {
			return errorf("the scan names component %d, which the frame does not have", id)
		}
		for j := 0; j < i; j++ {
			if scs[j].c == &d.comps[ci] {
				return errorf("the scan names component %d twice", id)
			}
		}
		td, ta := tables>>4, tables&15
		if td > 3 || ta > 3 {
			return errorf("the scan uses Huffman tables %d/%d", td, ta)
		}
		scs[i] = scanComp{c: &d.comps[ci], dc: &d.tabs.dc[td], ac: &d.tabs.ac[ta]}
		blocks += d.comps[ci].h * d.comps[ci].v
	}
	if ns > 1 && blocks > 10 {
		return errorf("an MCU of %d blocks (at most 10)", blocks)
	}
	q := p[1+2*ns:]
	ss, se, ah, al := int(q[0]), int(q[1]), int(q[2]>>4), int(q[2]&15)
	if d.progressive {
		bad := false
		if ss == 0 {
			bad = se != 0
		} else {
			bad = se < ss || se > 63 || ns != 1
		}
		if (ah != 0 && al != ah-1) || al > 13 {
			bad = true
		}
		if bad {
			return errorf("invalid progressive scan (Ss=%d Se=%d Ah=%d Al=%d, %d components)", ss, se, ah, al, ns)
		}
	}
	for _, sc := range scs {
		c := sc.c
		if !c.latched {
			if !d.qtDefined[c.tq] {
				return errorf("component %d uses quantization table %d, which is not defined", c.id, c.tq)
			}
			for k := range c.quant {
				// libjpeg-turbo keeps the multipliers as 16-bit signed.
				c.quant[k] = int(int16(d.qt[c.tq][k]))
			}
			c.latched = true
		}
		needDC := !d.progressive || (ss == 0 && ah == 0)
		needAC := !d.progressive || ss > 0
		if (needDC && !sc.dc.defined) || (needAC && !sc.ac.defined) {
			return errorf("component %d's scan uses a Huffman table that is not defined", c.id)
		}
		c.dcPred = 0
	}
	d.allocate()

	br := bitReader{data: d.data, pos: d.pos}
	d.eobrun = 0
	var mcus, mcusx int
	if ns == 1 {
		mcusx = scs[0].c.nbw
		mcus = mcusx * scs[0].c.nbh
	} else {
		mcusx = d.mcusx
		mcus = mcusx * d.mcusy
	}
	var blk [64]int  // dequantized coefficients (32-bit values)
	var ws [8][8]int // idct's scratch
	nextRST := 0
	for m := 0; m < mcus; m++ {
		if d.restart > 0 && m > 0 && m%d.restart == 0 {
			if err := d.restartMarker(&br, nextRST); err != nil {
				return err
			}
			nextRST = (nextRST + 1) & 7
			for _, sc := range scs {
				sc.c.dcPred = 0
			}
			d.eobrun = 0
		}
		mx, my := m%mcusx, m/mcusx
		for _, sc := range scs {
			c := sc.c
			bx0, by0, nh, nv := mx, my, 1, 1
			if ns > 1 {
				bx0, by0, nh, nv = mx*c.h, my*c.v, c.h, c.v
			}
			for by := by0; by < by0+nv; by++ {
				for bx := bx0; bx < bx0+nh; bx++ {
					var err error
					if !d.progressive {
						var nz uint64
						nz, err = d.sequentialBlock(&br, sc, &blk)
						if err == nil {
							stride := c.bw * 8
							dst := c.plane[by*8*stride+bx*8:]
							if nz != 0 {
								idct(&blk, nz, dst, stride, &ws)
								blk = [64]int{}
							} else {
								idctDC(blk[0], dst, stride)
							}
						}
					} else {
						b := (*[64]int16)(c.coefs[(by*c.bw+bx)*64:])
						switch {
						case ss == 0 && ah == 0:
							err = d.dcFirst(&br, sc, b, al)
						case ss == 0:
							if br.bit() {
								b[0] |= int16(1 << al)
							}
						case ah == 0:
							err = d.acFirst(&br, sc, b, ss, se, al)
						default:
							err = d.acRefine(&br, sc, b, ss, se, al)
						}
					}
					if err != nil {
						return err
					}
				}
			}
		}
		if br.overrun() {
			return errorf("truncated (the file ends inside scan %d)", d.scans+1)
		}
	}
	d.pos = br.pos
	return nil
}

// restartMarker drops the bits left of the interval and reads RSTn.
func (d *decoder) restartMarker(br *bitReader, n int) error {
	br.acc, br.n = 0, 0
	d.pos = br.pos
	m, err := d.nextMarker()
	if err != nil {
		return errorf("truncated (the file ends inside scan %d)", d.scans+1)
	}
	if m != mRST0+byte(n) {
		return errorf("corrupt data (expected restart marker RST%d, found marker 0x%02X)", n, m)
	}
	br.pos, br.atMarker = d.pos, false
	return nil
}

// sequentialBlock decodes one block of a sequential scan (T.81 F.2.2) into
// blk, dequantized (blk's AC terms must be zero). It returns the mask of
// the positions of the AC coefficients it set (natural order), as idct
// takes it.
func (d *decoder) sequentialBlock(br *bitReader, sc scanComp, blk *[64]int) (uint64, error) {
	// The bit buffer lives in locals here; br has it around calls.
	if br.n < 32 {
		br.fill()
	}
	acc, n := br.acc, br.n
	// The DC term: a symbol (its fast path by hand: the compiler does not
	// inline symbol) and its value; 16+15 bits at most.
	var s uint
	if e := sc.dc.fast[acc>>(64-lookBits)]; e != 0 {
		l := uint(e>>8) & 63
		acc <<= l
		n -= l
		s = uint(e) & 15
	} else {
		br.acc, br.n = acc, n
		v, err := br.slowSymbol(sc.dc)
		if err != nil {
			return 0, err
		}
		acc, n, s = br.acc, br.n, uint(v)&15
	}
	if s != 0 {
		v := int32(acc >> (64 - s))
		acc <<= s
		n -= s
		if v < 1<<(s-1) {
			v += -1<<s + 1
		}
		// 32-bit wrap-around, as libjpeg-turbo's, for corrupt data.
		sc.c.dcPred += v
	}
	q := &sc.c.quant
	// Coefficients are 16-bit before dequantization, as libjpeg-turbo's;
	// a product of two 16-bit numbers is the same in 32 bits as in int.
	blk[0] = int(int16(sc.c.dcPred)) * q[0]
	ac, nz := sc.ac, uint64(0)
	fastAC := &ac.fastAC
	for k := 1; k < 64; k++ {
		// Enough bits for a lookup or a code of up to 16 bits.
		if n < 16 {
			br.acc, br.n = acc, n
			br.fill()
			acc, n = br.acc, br.n
		}
		// A short code and its value bits: one lookup.
		if e := fastAC[acc>>(64-lookBits)]; e != 0 {
			l := uint(e) & 15
			acc <<= l
			n -= l
			k += int(e>>8) & 15
			z := zigzag[k&127] & 63
			blk[z] = int(int16(e>>16)) * q[z]
			nz |= 1 << z
			continue
		}
		var rs byte
		if e := ac.fast[acc>>(64-lookBits)]; e != 0 {
			l := uint(e>>8) & 63
			acc <<= l
			n -= l
			rs = byte(e)
		} else {
			br.acc, br.n = acc, n
			var err error
			if rs, err = br.slowSymbol(&ac.huffman); err != nil {
				return 0, err
			}
			acc, n = br.acc, br.n
		}
		r, s := int(rs>>4), uint(rs&15)
		if s == 0 {
			if r != 15 {
				break
			}
			k += 15
			continue
		}
		k += r
		if n < s {
			br.acc, br.n = acc, n
			br.fill()
			acc, n = br.acc, br.n
		}
		v := int32(acc >> (64 - s))
		acc <<= s
		n -= s
		if v < 1<<(s-1) {
			v += -1<<s + 1
		}
		z := zigzag[k&127] & 63
		blk[z] = int(int16(v)) * q[z]
		nz |= 1 << z
	}
	br.acc, br.n = acc, n
	return nz, nil
}

// dcFirst is the first DC scan of a progressive image (G.1.2.1).
func (d *decoder) dcFirst(br *bitReader, sc scanComp, b *[64]int16, al int) error {
	s, err := br.decode(sc.dc)
	if err != nil {
		return err
	}
	sc.c.dcPred += br.extend(uint(s))
	b[0] = int16(sc.c.dcPred << al)
	return nil
}

// acFirst is a first AC scan of a progressive image (G.1.2.2).
func (d *decoder) acFirst(br *bitReader, sc scanComp, b *[64]int16, ss, se, al int) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	for k := ss; k <= se; k++ {
		rs, err := br.decode(&sc.ac.huffman)
		if err != nil {
			return err
		}
		r, s := int(rs>>4), uint(rs&15)
		if s == 0 {
			if r != 15 {
				d.eobrun = 1<<r - 1
				if r > 0 {
					d.eobrun += int(br.receive(uint(r)))
				}
				break
			}
			k += 15
			continue
		}
		k += r
		b[zigzag[k]] = int16(br.extend(s) << al)
	}
	return nil
}

// acRefine is an AC refinement scan of a progressive image (G.1.2.3).
func (d *decoder) acRefine(br *bitReader, sc scanComp, b *[64]int16, ss, se, al int) error {
	p1, m1 := int16(1)<<al, int16(-1)<<al
	refine := func(c *int16) {
		if br.bit() && *c&p1 == 0 {
			if *c >= 0 {
				*c += p1
			} else {
				*c += m1
			}
		}
	}
	k := ss
	if d.eobrun == 0 {
		for ; k <= se; k++ {
			rs, err := br.decode(&sc.ac.huffman)
			if err != nil {
				return err
			}
			r, s := int(rs>>4), int(rs&15)
			var val int16
			if s != 0 {
				// s is 1 in a valid stream; the sign is the next bit.
				if br.bit() {
					val = p1
				} else {
					val = m1
				}
			} else if r != 15 {
				d.eobrun = 1 << r
				if r > 0 {
					d.eobrun += int(br.receive(uint(r)))
				}
				break
			}
			// Skip r zero coefficients (refining the nonzero ones met on
			// the way), then place the new one.
			for ; k <= se; k++ {
				c := &b[zigzag[k]]
				if *c != 0 {
					refine(c)
				} else {
					if r == 0 {
						break
					}
					r--
				}
			}
			if val != 0 {
				b[zigzag[k]] = val
			}
		}
	}
	if d.eobrun > 0 {
		for ; k <= se; k++ {
			if c := &b[zigzag[k]]; *c != 0 {
				refine(c)
			}
		}
		d.eobrun--
	}
	return nil
}
